from common.plots import draw

draw()
