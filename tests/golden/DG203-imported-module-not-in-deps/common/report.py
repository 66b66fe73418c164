from common.plots import draw
