def apply(value):
    return value
