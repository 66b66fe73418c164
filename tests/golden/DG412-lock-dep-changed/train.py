print('train, better')
