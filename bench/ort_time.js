// Times an ONNX model with ONNX Runtime's CPU execution provider (the npm package onnxruntime-node),
// for bench/compare_nets.py: the peer a user would pick for CPU inference. Not part of anima.
//
//   node bench/ort_time.js MODULE_DIR MODEL.onnx BATCH SIZE THREADS WARMUP REPEATS
//
// MODULE_DIR is the folder holding node_modules/onnxruntime-node (`npm install --ignore-scripts
// onnxruntime-node` in it). The session runs sequentially with THREADS intra-op threads, one inter-op
// thread and every graph optimisation on (ONNX Runtime's defaults for a server, threads pinned to the
// count anima and torch get). Input [BATCH, 3, SIZE, SIZE], standard normal (Box-Muller), as the other
// sides'. WARMUP untimed runs, then REPEATS timed runs (wall time around each session.run).
// Prints one JSON line: {"version", "times_ms": [...], "max_rss_kb"} (peak resident memory of this
// process: the runtime, the model and its buffers).
'use strict';
const path = require('path');

async function main() {
  const args = process.argv.slice(2);
  if (args.length !== 7) {
    console.error('usage: node ort_time.js MODULE_DIR MODEL.onnx BATCH SIZE THREADS WARMUP REPEATS');
    process.exit(2);
  }
  const [moduleDir, model] = args;
  const [batch, size, threads, warmup, repeats] = args.slice(2).map((a) => parseInt(a, 10));
  const ort = require(path.join(path.resolve(moduleDir), 'node_modules', 'onnxruntime-node'));
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const count = batch * 3 * size * size;
  const data = new Float32Array(count);
  for (let i = 0; i < count; ++i) {
    const u = Math.random() || 1e-12;
    data[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
  }
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [batch, 3, size, size]) };
  for (let i = 0; i < warmup; ++i) await session.run(feeds);
  const times = [];
  for (let i = 0; i < repeats; ++i) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  let version = '?';
  try {
    version = require(path.join(path.resolve(moduleDir), 'node_modules', 'onnxruntime-node', 'package.json')).version;
  } catch (e) {
    // the version is only printed
  }
  console.log(JSON.stringify({ version, times_ms: times, max_rss_kb: process.resourceUsage().maxRSS }));
}

main().catch((e) => {
  console.error(String(e && e.stack ? e.stack : e));
  process.exit(1);
});
