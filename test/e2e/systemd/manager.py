# A stand-in for systemd's side of the service protocol, for tests on a host whose PID 1 is not
# systemd (the real one runs in test/e2e/systemd's guest): a notify socket that keeps the fds
# sent with FDSTORE=1/FDNAME=, two starts of the same command — the second with the kept fds
# from fd 3 in LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID, as systemd passes them — and after
# each READY=1 a shell command (its output recorded), then SIGTERM and a wait for STOPPING=1
# and the exit. Prints one JSON object: every message, and each start's exit code and output.
# Usage: manager.py SOCKET ON_READY_1 ON_READY_2 CMD [ARG...]
import array, json, os, signal, socket, subprocess, sys

sock_path, on_ready = sys.argv[1], sys.argv[2:4]
cmd = sys.argv[4:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock_path)
s.settimeout(60)
store, log = {}, []

def start(kept):
    env = dict(os.environ, NOTIFY_SOCKET=sock_path, FDSTORE='4')
    if not kept:
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    env.update(LISTEN_FDS=str(len(kept)), LISTEN_FDNAMES=':'.join(n for n, _ in kept))
    def place():  # the kept fds at 3, 4, ... as systemd does
        for i, (_, fd) in enumerate(kept): os.dup2(fd, 3 + i)
    keep = tuple(range(3, 3 + len(kept)))
    return subprocess.Popen(['/bin/sh', '-c', 'export LISTEN_PID=$$; exec "$@"', 'sh'] + cmd, env=env,
                            preexec_fn=place, pass_fds=keep, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

def serve(p, hook):
    ready_out = None
    while True:
        msg, anc, _f, _a = s.recvmsg(4096, socket.CMSG_SPACE(16 * 4))
        fds = []
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                a = array.array('i'); a.frombytes(data[:len(data) - len(data) % 4]); fds += list(a)
        text = msg.decode()
        log.append({'text': text, 'fds': len(fds)})
        fields = dict(l.split('=', 1) for l in text.split('\n') if '=' in l)
        if fields.get('FDSTORE') == '1':
            for fd in fds: store[fields.get('FDNAME', 'stored')] = fd
        if fields.get('READY') == '1':
            r = subprocess.run(['/bin/sh', '-c', hook], capture_output=True, text=True, timeout=60)
            ready_out = r.stdout + r.stderr
            p.send_signal(signal.SIGTERM)
        if fields.get('STOPPING') == '1': break
    out = p.communicate(timeout=60)[0].decode()
    return {'rc': p.returncode, 'out': out, 'ready': ready_out}

first = serve(start([]), on_ready[0])
kept = sorted(store.items())
second = serve(start(kept), on_ready[1]) if kept else None
print(json.dumps({'first': first, 'second': second, 'names': [n for n, _ in kept], 'log': log}))
