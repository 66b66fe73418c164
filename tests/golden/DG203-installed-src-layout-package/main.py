from cnn_classifier.components.model import train

train()
