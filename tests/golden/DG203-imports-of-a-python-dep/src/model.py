from layers import dense
