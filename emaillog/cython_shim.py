"""Stands in for Cython's `cython` module when the package runs as plain
Python without Cython installed: the declarations become no-ops."""

compiled = False
long = int_ = ulonglong = Py_ssize_t = Py_UCS4 = bint = double = object


def cclass(cls):
    return cls


def locals(**_types):
    return lambda fn: fn


def returns(_type):
    return lambda fn: fn


def cfunc(fn):
    return fn


inline = cfunc


def declare(_type=None, *_args, **_kwargs):
    return None
