"""The one error type of the data layer."""


class DataError(ValueError):
    """Bad or missing benchmark data; the message names the file, row and field."""
