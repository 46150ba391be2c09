"""Init for a SnapStart snapshot: the handler's module imported without a WASI handle left open.

A snapshot keeps the guest's memory, not the host's handle table. Whatever the guest still
holds when the snapshot is taken -- the preopened directories wasi-libc (through the preview1
adapter) looks up on the first file access, the stdout stream it caches on the first write --
is a dangling handle in every restored environment, and the first use of one traps. So while a
snapshot's Init imports the handler's module:

* modules are found and read through wasi:filesystem with descriptors of this module's own
  (`_Files`), each dropped as soon as it is read; libc's and the adapter's file state stays as
  componentize-py left it at build time: untouched;
* what the module writes to stdout or stderr while it is imported is dropped, as the host drops
  the rest of a snapshot's Init log.

The host checks the rule (no resource left when Init returns) and takes no snapshot otherwise;
`init` in the bootstrap then learns, at the first invocation of a restored environment, that
libc may be used again (`restored()`).
"""

import importlib.machinery
import importlib.util
import io
import sys

from componentize_py_types import Err
from wit_world.imports import preopens
from wit_world.imports import wasi_filesystem_types as fs

_FOLLOW = fs.PathFlags.SYMLINK_FOLLOW


def _os_error(code, path):
    if code == fs.ErrorCode.NO_ENTRY:
        return FileNotFoundError(2, "No such file or directory", path)
    if code == fs.ErrorCode.NOT_DIRECTORY:
        return NotADirectoryError(20, "Not a directory", path)
    if code == fs.ErrorCode.IS_DIRECTORY:
        return IsADirectoryError(21, "Is a directory", path)
    return OSError(5, "wasi:filesystem error %s" % code.name.lower().replace("_", "-"), path)


def _drop(resource):
    resource.__exit__(None, None, None)


class _Files:
    """Absolute guest paths read through the preopened directories, longest prefix first."""

    def __init__(self):
        self._dirs = None

    def _resolve(self, path):
        if self._dirs is None:
            dirs = [(d, p.rstrip("/") or "/") for d, p in preopens.get_directories()]
            self._dirs = sorted(dirs, key=lambda d: -len(d[1]))
        for descriptor, root in self._dirs:
            if path == root:
                return descriptor, "."
            if path.startswith(root + "/"):
                return descriptor, path[len(root) + 1:]
        raise FileNotFoundError(2, "No such file or directory", path)

    def stat(self, path):
        descriptor, relative = self._resolve(path)
        try:
            return descriptor.stat_at(_FOLLOW, relative)
        except Err as e:
            raise _os_error(e.value, path) from None

    def kind(self, path):
        """'dir', 'file' or None."""
        try:
            kind = self.stat(path).type
        except OSError:
            return None
        if kind == fs.DescriptorType.DIRECTORY:
            return "dir"
        if kind == fs.DescriptorType.REGULAR_FILE:
            return "file"
        return None

    def read(self, path):
        descriptor, relative = self._resolve(path)
        try:
            file = descriptor.open_at(_FOLLOW, relative, fs.OpenFlags(0), fs.DescriptorFlags.READ)
        except Err as e:
            raise _os_error(e.value, path) from None
        try:
            chunks, offset = [], 0
            while True:
                data, end = file.read(1 << 20, offset)
                chunks.append(data)
                offset += len(data)
                if end or not data:
                    return b"".join(chunks)
        except Err as e:
            raise _os_error(e.value, path) from None
        finally:
            _drop(file)

    def close(self):
        for descriptor, _ in self._dirs or ():
            _drop(descriptor)
        self._dirs = None


_files = _Files()
# True while a snapshot's Init runs and after it, until the first invocation of a restored
# environment: reads go through `_files`, not libc.
_snapshot_io = False


class _Loader(importlib.machinery.SourceFileLoader):
    """The standard source loader (unchecked-hash .pyc included), reading through `_files`
    while a snapshot is being made and through libc once restored."""

    def get_data(self, path):
        if _snapshot_io:
            return _files.read(path)
        return super().get_data(path)

    def path_stats(self, path):
        if _snapshot_io:
            st = _files.stat(path)
            mtime = st.data_modification_timestamp
            return {"mtime": mtime.seconds if mtime else 0, "size": st.size}
        return super().path_stats(path)

    def set_data(self, *args, **kwargs):
        pass  # read-only mounts: no .pyc is written


class _Finder:
    """PathFinder's rules for the entries of sys.path (or a package's __path__): a package
    (`name/__init__.py`), then a module (`name.py`), then a namespace package (`name/`)."""

    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        tail = fullname.rpartition(".")[2]
        namespace = []
        for entry in sys.path if path is None else path:
            if not isinstance(entry, str) or not entry.startswith("/"):
                continue
            base = entry.rstrip("/") + "/" + tail
            if _files.kind(base) == "dir":
                init = base + "/__init__.py"
                if _files.kind(init) == "file":
                    return importlib.util.spec_from_file_location(
                        fullname, init, loader=_Loader(fullname, init), submodule_search_locations=[base]
                    )
                namespace.append(base)
            source = base + ".py"
            if _files.kind(source) == "file":
                return importlib.util.spec_from_file_location(fullname, source, loader=_Loader(fullname, source))
        if namespace:
            spec = importlib.machinery.ModuleSpec(fullname, None, is_package=True)
            spec.submodule_search_locations = namespace
            return spec
        return None

    @classmethod
    def invalidate_caches(cls):
        pass


class _Discard(io.TextIOBase):
    def writable(self):
        return True

    def write(self, text):
        return len(text)


def run(load):
    """Runs `load` (the bootstrap's Init work) the snapshot's way; returns what it returns."""
    global _snapshot_io
    _snapshot_io = True
    saved = sys.meta_path[:], sys.stdout, sys.stderr
    sys.meta_path[:] = [f for f in sys.meta_path if f is not importlib.machinery.PathFinder] + [_Finder]
    sys.stdout = sys.stderr = _Discard()
    try:
        return load()
    finally:
        sys.meta_path[:], sys.stdout, sys.stderr = saved
        _files.close()


def restored():
    """The first invocation of a restored environment: libc's file state is usable from now on."""
    global _snapshot_io
    _snapshot_io = False


def is_dir(path):
    return _files.kind(path) == "dir"
