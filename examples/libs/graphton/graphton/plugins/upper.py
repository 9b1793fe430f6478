def apply(value):
    return str(value).upper()
