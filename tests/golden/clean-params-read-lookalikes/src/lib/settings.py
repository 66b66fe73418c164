def name_of(section):
    return section.upper()
