"""Stands in for Cython's `cython` module when the package runs as plain
Python without Cython installed: the declarations become no-ops."""

compiled = False
long = int_ = ulonglong = Py_ssize_t = bint = double = object


def cclass(cls):
    return cls


def locals(**_types):
    return lambda fn: fn


def declare(_type=None, *_args, **_kwargs):
    return None
