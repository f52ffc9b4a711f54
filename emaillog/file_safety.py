"""Refuse database files that someone else could have written.

The database holds personal data and decides who may be mailed: a file
another user owns or can write (say, planted with mode 0666 in a shared
folder) can be read by them, and a hard bounce deleted from it turns
`check` into "ok". Like OpenSSH's StrictModes, such a file is refused with
one sentence that says how to fix it; it is never chmod-ed behind its
owner's back. Files root owns are trusted, as root can change them anyway.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

# What SQLite keeps beside a database; it follows a symlink placed there.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


class UnsafeFile(RuntimeError):
    """A file or folder others could write or own; the message says the fix."""


def refuse_unsafe(path: str | os.PathLike, *, sqlite: bool = False) -> None:
    """Raise UnsafeFile unless `path` (when it exists), SQLite's files beside
    it (with `sqlite`) and its folder are safe from other users."""
    path = Path(os.path.abspath(path))
    # SQLite resolves a symlinked database and keeps its -wal beside the target.
    for where in dict.fromkeys([path, Path(os.path.realpath(path))]):
        _check_folder(where.parent)
        for name in [where.name, *(where.name + s for s in SQLITE_COMPANIONS if sqlite)]:
            _check_file(where.parent / name)


def _check_folder(folder: Path) -> None:
    """Others who can write a folder can replace what is in it, unless it is
    sticky (like /tmp). A folder not made yet is judged by its parent."""
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    st = os.stat(folder)
    if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
        raise UnsafeFile(f"the folder {folder} can be written by {_who(st.st_mode)}, who could replace the "
                         f"database in it: fix it with chmod go-w {folder} (or chmod +t {folder}), "
                         "or pass --db in a folder of your own")


def _check_file(path: Path) -> None:
    try:
        link = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(link.st_mode):
        _check_owner(path, link, "a symlink")
        try:
            st = os.stat(path)
        except FileNotFoundError:  # dangling: SQLite would create its target
            return
    else:
        st = link
    if not stat.S_ISREG(st.st_mode):
        return  # a device or folder is no database: SQLite says so
    _check_owner(path, st, "")
    if st.st_mode & 0o022:
        raise UnsafeFile(f"{path} can be written by {_who(st.st_mode)}, who could change who may be mailed: "
                         f"fix it with chmod 600 {path}")


def _check_owner(path: Path, st: os.stat_result, what: str) -> None:
    if st.st_uid in (os.geteuid(), 0):
        return
    raise UnsafeFile(f"{path} is {what or 'a file'} owned by another user (uid {st.st_uid}), who can read and "
                     f"change it: pass --db with a database of your own, or, if you trust it, "
                     f"make it yours with sudo chown {_user()} {path}")


def _who(mode: int) -> str:
    return {0o020: "its group", 0o002: "every user"}.get(mode & 0o022, "its group and every user")


def _user() -> str:
    import pwd
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())
