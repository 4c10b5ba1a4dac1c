# The writer inside a `pram mount` (child of fuse-sigkill.test.mjs). Python,
# not node: it needs setxattr, fdatasync, sync(2) and syncfs(2), which node:fs
# lacks. It runs one op list per stdin line (JSON) against MNT and reports on
# stdout, one line each: "b I" before op I, "k I" when it returned 0, "e I CODE"
# when it failed (then the run stops), and "end" after the run (held files are
# closed then). A line "dump" prints the whole tree as one JSON line ('/' too;
# per path its type, mode, inode, nlink, mtime, and target or xattrs and bytes). It knows
# nothing about what the ops should leave behind: the model is the parent's.
import base64, ctypes, errno, json, os, sys

mnt = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
os.umask(0)
held = {}

def at(p):
    return mnt + p

def say(line):
    sys.stdout.write(line + '\n')
    sys.stdout.flush()

def syncfs():
    fd = os.open(mnt, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if libc.syncfs(fd) != 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
    finally:
        os.close(fd)

def fsync_path(p, flags, data_only):
    fd = os.open(at(p), flags)
    try:
        (os.fdatasync if data_only else os.fsync)(fd)
    finally:
        os.close(fd)

def write_at(p, data, off):
    fd = os.open(at(p), os.O_WRONLY)
    try:
        os.pwrite(fd, data, off)
    finally:
        os.close(fd)

def read_all(p):
    # Through the kernel: a READ reaches the server unless the page cache holds the bytes (pram then stamps
    # atime by relatime, a change only the next checkpoint writes: ATIMES records).
    fd = os.open(at(p), os.O_RDONLY)
    try:
        while os.read(fd, 1 << 16): pass
    finally:
        os.close(fd)

def create(p, data, mode):
    fd = os.open(at(p), os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)

def run(op):
    k = op['op']
    data = base64.b64decode(op.get('data', ''))
    if k == 'create': create(op['path'], data, op['mode'])
    elif k == 'write': write_at(op['path'], data, op['off'])
    elif k == 'truncate': os.truncate(at(op['path']), op['len'])
    elif k == 'rename': os.rename(at(op['path']), at(op['to']))
    elif k == 'unlink': os.unlink(at(op['path']))
    elif k == 'mkdir': os.mkdir(at(op['path']), op['mode'])
    elif k == 'rmdir': os.rmdir(at(op['path']))
    elif k == 'symlink': os.symlink(op['target'], at(op['path']))
    elif k == 'link': os.link(at(op['path']), at(op['to']))
    elif k == 'chmod': os.chmod(at(op['path']), op['mode'])
    elif k == 'utime': os.utime(at(op['path']), ns=(int(op['atime']), int(op['mtime'])))
    elif k == 'setxattr': os.setxattr(at(op['path']), op['name'], data)
    elif k == 'removexattr': os.removexattr(at(op['path']), op['name'])
    elif k == 'read': read_all(op['path'])
    elif k == 'hopen': held[op['path']] = os.open(at(op['path']), os.O_RDWR)
    elif k == 'hwrite': os.pwrite(held[op['path']], data, op['off'])
    elif k == 'hclose': os.close(held.pop(op['path']))
    elif k == 'hfsync': os.fsync(held[op['path']])
    elif k == 'hfdatasync': os.fdatasync(held[op['path']])
    elif k == 'fsync': fsync_path(op['path'], os.O_RDONLY, False)
    elif k == 'fdatasync': fsync_path(op['path'], os.O_RDONLY, True)
    elif k == 'dirfsync': fsync_path(op['path'], os.O_RDONLY | os.O_DIRECTORY, False)
    elif k == 'sync': os.sync()
    elif k == 'syncfs': syncfs()
    else: raise ValueError('unknown op ' + k)

def dump():
    out = {}
    for root, dirs, files in os.walk(mnt):
        for full in ([root] if root == mnt else []) + [os.path.join(root, n) for n in dirs + files]:
            p = full[len(mnt):] or '/'
            st = os.lstat(full)
            # mtime as a string: JSON numbers lose nanoseconds past 2^53.
            node = {'mode': st.st_mode & 0o7777, 'ino': st.st_ino, 'nlink': st.st_nlink, 'mtime': str(st.st_mtime_ns)}
            if os.path.islink(full):
                node['type'] = 'l'; node['target'] = os.readlink(full)
            else:
                node['type'] = 'd' if os.path.isdir(full) else 'f'
                node['xattrs'] = {n: base64.b64encode(os.getxattr(full, n)).decode() for n in sorted(os.listxattr(full))}
                if node['type'] == 'f':
                    with open(full, 'rb') as f:
                        node['data'] = base64.b64encode(f.read()).decode()
            out[p] = node
    return out

for line in sys.stdin:
    line = line.strip()
    if line == 'dump':
        try:
            say(json.dumps(dump()))
        except OSError as e:
            say(json.dumps({'error': errno.errorcode.get(e.errno, str(e.errno)), 'path': e.filename}))
        continue
    for i, op in enumerate(json.loads(line)):
        say('b %d' % i)
        try:
            run(op)
        except OSError as e:
            say('e %d %s' % (i, errno.errorcode.get(e.errno, str(e.errno))))
            break
        say('k %d' % i)
    for fd in held.values():
        try: os.close(fd)
        except OSError: pass
    held.clear()
    say('end')
