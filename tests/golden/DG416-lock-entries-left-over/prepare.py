print('prepare')
