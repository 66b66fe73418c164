from model import fit
