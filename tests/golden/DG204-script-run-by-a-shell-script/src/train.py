from features import *  # noqa
