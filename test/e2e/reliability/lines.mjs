// Calls fn once per complete line a child writes on `stream` (its stdout): the
// workers report progress one line at a time and the parent reacts per line.
export function onLines(stream, fn) {
  let buf = '';
  stream.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      fn(line);
    }
  });
}
