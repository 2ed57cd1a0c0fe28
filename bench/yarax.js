// YARA-X as a benchmark peer, through its Node binding (@litko/yara-x-linux-x64-gnu,
// which embeds yara-x 1.20): compile the given rule files with the given
// externals, scan every regular file below the targets with THREADS scans in
// flight (libuv's pool: run with UV_THREADPOOL_SIZE=THREADS), and print one
// "RULE PATH" line per match, as `yara` does.
//
// usage: node bench/yarax.js [--check] [-d NAME=VALUE]... RULEFILE... -- TARGET...
//   --check: compile each rule file alone and print the ones YARA-X rejects
//            ("REJECTED path: reason"), nothing else.
// env: THREADS (2), YARAX_MODULE (the binding's path or package name)
'use strict';
const fs = require('fs');
const path = require('path');

const binding = require(process.env.YARAX_MODULE || '@litko/yara-x-linux-x64-gnu');

const args = process.argv.slice(2);
const vars = {};
const rules = [];
const targets = [];
let check = false;
for (let i = 0, after = false; i < args.length; i++) {
  const a = args[i];
  if (after) targets.push(a);
  else if (a === '--') after = true;
  else if (a === '--check') check = true;
  else if (a === '-d') {
    const [k, ...v] = args[++i].split('=');
    const value = v.join('=');
    vars[k] = /^-?[0-9]+$/.test(value) ? Number(value) : value;
  } else rules.push(a);
}

function compileFiles(files) {
  // one source per file, as yara's command line compiles them (one
  // namespace): concatenated with the file's own includes left to YARA-X
  return binding.compile(files.map((f) => fs.readFileSync(f, 'utf8')).join('\n'), {defineVariables: vars});
}

if (check) {
  for (const f of rules) {
    try {
      const r = compileFiles([f]);
      const errors = r.getCompilationErrors ? r.getCompilationErrors() : [];
      if (errors.length) console.log(`REJECTED ${f}: ${errors[0].message || errors[0].code}`);
    } catch (e) {
      console.log(`REJECTED ${f}: ${String(e.message || e).split('\n')[0]}`);
    }
  }
  process.exit(0);
}

const t0 = process.hrtime.bigint();
const compiled = compileFiles(rules);
const compileSeconds = Number(process.hrtime.bigint() - t0) / 1e9;

function* walk(p) {
  let st;
  try {
    st = fs.lstatSync(p);
  } catch {
    return;
  }
  if (st.isDirectory()) {
    let names = [];
    try {
      names = fs.readdirSync(p);
    } catch {
      return;
    }
    for (const n of names) yield* walk(path.join(p, n));
  } else if (st.isFile()) {
    yield p;
  }
}

const files = walk.bind(null);
const queue = (function* () {
  for (const t of targets) yield* files(t);
})();
const threads = Number(process.env.THREADS || 2);
let errors = 0;
const out = [];

async function worker() {
  for (let n = queue.next(); !n.done; n = queue.next()) {
    const f = n.value;
    try {
      const matches = await compiled.scanFileAsync(f, vars);
      for (const m of matches) out.push(`${m.ruleIdentifier} ${f}`);
    } catch (e) {
      errors++;
    }
  }
}

Promise.all(Array.from({length: threads}, worker)).then(() => {
  process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
  process.stderr.write(`yara-x: compile ${compileSeconds.toFixed(2)} s, ${errors} files not scanned\n`);
});
