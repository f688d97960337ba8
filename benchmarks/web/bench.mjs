// Times malunet's browser page in Debian's Chromium: per image, the network alone (ONNX Runtime Web) and end to end
// (decode, resize, network, upsampling to the original size, area), single-threaded WebAssembly (a plain static
// server) and multi-threaded (the same files served cross-origin isolated).
//
//   ./malunet export --format web --output /tmp/malunet-web
//   cd benchmarks/web && npm ci && node bench.mjs /tmp/malunet-web ../../../shared/data/isic2017_fullres/images/*.jpg
//
// Options: --runs N (timed runs per image after one warm-up, default 5), --chromium PATH (default /usr/bin/chromium).
import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { readFile, writeFile, mkdtemp, stat, readdir } from "node:fs/promises";
import { join, extname, basename, resolve } from "node:path";
import { tmpdir } from "node:os";

const args = process.argv.slice(2);
const option = (name, fallback) => { const i = args.indexOf(name); return i < 0 ? fallback : args.splice(i, 2)[1]; };
const runs = parseInt(option("--runs", "5"));
const executablePath = option("--chromium", "/usr/bin/chromium");
const [site, ...images] = args;
if (!site || images.length === 0) { console.error("usage: node bench.mjs SITE_DIR IMAGE... [--runs N]"); process.exit(2); }

const types = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };
function serve(isolated) {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const file = resolve(site, "." + (path === "/" ? "/index.html" : path));
    if (!file.startsWith(resolve(site))) { res.writeHead(404).end(); return; }
    try {
      const body = await readFile(file);
      const headers = { "Content-Type": types[extname(file)] || "application/octet-stream" };
      if (isolated) Object.assign(headers, { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" });
      res.writeHead(200, headers).end(body);
    } catch { res.writeHead(404).end(); }
  });
  return new Promise(ok => server.listen(0, "127.0.0.1", () => ok(server)));
}

async function folderSize(dir) {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) total += e.isDirectory() ? await folderSize(join(dir, e.name)) : (await stat(join(dir, e.name))).size;
  return total;
}

const median = xs => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

const browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
const work = await mkdtemp(join(tmpdir(), "malunet-web-bench-"));

// A 256x256 JPEG made from the first image, for the network-size case.
{
  const page = await browser.newPage();
  const server = await serve(false);
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  const bytes = await page.evaluate(async data => {
    const bitmap = await createImageBitmap(new Blob([new Uint8Array(data)]));
    const canvas = new OffscreenCanvas(256, 256);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, 256, 256);
    return Array.from(new Uint8Array(await (await canvas.convertToBlob({ type: "image/jpeg", quality: 0.95 })).arrayBuffer()));
  }, Array.from(await readFile(images[0])));
  images.unshift(join(work, "256x256.jpg"));
  await writeFile(images[0], Buffer.from(bytes));
  server.close();
  await page.close();
}

const rows = [];
for (const isolated of [false, true]) {
  const server = await serve(isolated);
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.waitForFunction(() => document.getElementById("model").textContent.includes("parameters"));
  const engine = await page.evaluate(() => `cross-origin isolated: ${self.crossOriginIsolated}`);
  // One warm-up image (it creates the ONNX Runtime session), then every image `runs` times.
  const files = [images[0], ...images.flatMap(f => Array(runs).fill(f))];
  await page.setInputFiles("input[type=file]", files);
  await page.waitForFunction(n => document.querySelectorAll(".card.done, .card.failed").length === n, files.length, { timeout: 0, polling: 500 });
  const cards = await page.$$eval(".card.done", cs => cs.map(c => ({ file: c.dataset.file, network: +c.dataset.msNetwork, total: +c.dataset.msTotal })));
  const threads = await page.evaluate(() => engineName);
  cards.shift();
  for (const f of images) {
    const mine = cards.filter(c => c.file === basename(f));
    const size = await page.evaluate(async data => { const b = await createImageBitmap(new Blob([new Uint8Array(data)])); return `${b.width}x${b.height}`; }, Array.from(await readFile(f)));
    rows.push({ engine: threads, isolated: engine, image: basename(f), size, network: median(mine.map(c => c.network)), total: median(mine.map(c => c.total)), n: mine.length });
  }
  await page.close();
  server.close();
}
await browser.close();

console.log(`site ${site}: ${(await folderSize(site) / 1e6).toFixed(1)} MB; medians of ${runs} runs per image after one warm-up`);
console.log("| engine | image | size | network (ms) | end to end (ms) |");
console.log("| --- | --- | --- | ---: | ---: |");
for (const r of rows) console.log(`| ${r.engine} | ${r.image} | ${r.size} | ${r.network.toFixed(0)} | ${r.total.toFixed(0)} |`);
