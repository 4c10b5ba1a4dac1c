// The example service of units/pram-example.service: files in a memfd arena that systemd keeps
// for it. HTTP on 127.0.0.1:$PRAM_EXAMPLE_PORT: GET /path reads a file, PUT /path writes one
// (and checkpoints). Try: curl -T notes.txt localhost:8377/notes.txt; systemctl restart
// pram-example; curl localhost:8377/notes.txt — the file is still there, with no file on disk.
import { createServer } from 'node:http';
import { mount } from '../dist/api/index.js';

const pfs = await mount({ arena: 'memfd:example', create: { sizeBytes: 256 << 20 }, checkpointIntervalMs: 10_000 });
let starts = 0;
try { starts = Number(await pfs.readFile('/.starts', 'utf8')); } catch { /* the first start */ }
await pfs.writeFile('/.starts', String(++starts));
await pfs.sync();
console.log(`pram example: start number ${starts} on memfd:example; files: ${(await pfs.readdir('/')).join(', ')}`);

createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  try {
    if (req.method === 'PUT') {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      await pfs.writeFile(path, Buffer.concat(chunks));
      await pfs.sync();
      res.end('saved\n');
    } else res.end(await pfs.readFile(path));
  } catch (e) {
    res.statusCode = e.code === 'ENOENT' ? 404 : 500;
    res.end(`${e.code ?? ''} ${e.message}\n`);
  }
}).listen(Number(process.env.PRAM_EXAMPLE_PORT ?? 8377), '127.0.0.1');
