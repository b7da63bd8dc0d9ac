// Replays hostile and ordinary HTTP/1.1 inputs through the mesh and checks
// what reached the recording upstream (recording_upstream.js):
//   node replay_http1.js HOST PORT RECORD_FILE smuggler PAYLOADS.json [LIMIT]
//   node replay_http1.js HOST PORT RECORD_FILE llhttp FIXTURE_DIR [LIMIT]
// Each input goes on its own connection (written whole, then FIN); the driver
// waits for the upstream's record of that connection before the next one, so
// record N belongs to input N. The oracles are the ones in
// ../shared/testdata/README.md:
// - smuggler: rejected (a 4xx from the proxy or a close, and no request
//   upstream) or forwarded as exactly one complete request with no parse error
//   upstream (so its framing was unambiguous and nothing was smuggled after it);
// - llhttp: a case that ends in an error reaches the upstream only as the
//   complete requests before the error (anything after is cut short, never
//   complete) and the connection ends; a case without error
//   reaches it as the same requests (method, url, body); cases that need a
//   lenient parser are rejected or forwarded without a parse error upstream.
// Prints one JSON line: totals and the first failures.
'use strict';
const fs = require('fs');
const net = require('net');
const path = require('path');

const [host, port, recordFile, kind, source, limitArg] = process.argv.slice(2);
const limit = limitArg ? Number(limitArg) : Infinity;

// --- inputs -------------------------------------------------------------------

function smugglerCases(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8')).map((p) => ({
    name: `${p.config}/${p.name}/${p.probe}`, raw: Buffer.from(p.raw, 'latin1'), kind: 'smuggler'}));
}

// The escapes of the fixtures' http blocks and log strings.
function unescape(text) {
  return text.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, e) => {
    if (e[0] === 'x' && e.length === 3) return String.fromCharCode(parseInt(e.slice(1), 16));
    return {r: '\r', n: '\n', t: '\t', f: '\f', '"': '"', '\\': '\\'}[e] ?? e;
  });
}

// A fixture's http block: its lines joined by CRLF (none after the last), a
// trailing backslash joining a line to the next, then the escapes.
function fixtureBytes(lines) {
  const joined = lines.join('\r\n').replace(/\\\r\n/g, '');
  return Buffer.from(unescape(joined), 'latin1');
}

// What llhttp's log says of the input: the messages (method, url, body, done)
// and whether it ends in an error.
function fixtureExpectation(logLines) {
  const messages = [];
  let error = null, upgrade = false;
  for (const line of logLines) {
    const span = line.match(/span\[(method|url|body)\]="(.*)"$/);
    if (/ message begin$/.test(line)) messages.push({method: '', url: '', body: '', headersDone: false, done: false});
    const current = messages[messages.length - 1];
    if (span && current) current[span[1]] += unescape(span[2]);
    if (/ headers complete/.test(line) && current) current.headersDone = true;
    if (/ message complete$/.test(line) && current) current.done = true;
    const failed = line.match(/ error code=(\d+) reason="(.*)"$/);
    // 22 and 23 are llhttp pausing on Upgrade/CONNECT and PRI: what follows
    // is another protocol, so the log says nothing more about the bytes.
    if (failed && (failed[1] === '22' || failed[1] === '23')) upgrade = true;
    else if (failed) error = failed[2];
  }
  return {messages, error, upgrade};
}

function llhttpCases(dir) {
  const cases = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.md')).sort()) {
    const lines = fs.readFileSync(path.join(dir, file), 'utf8').split('\n');
    let heading = '', meta = null;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (/^#+ /.test(line)) heading = line.replace(/^#+ /, '');
      const m = line.match(/^<!-- meta=(.*) -->$/);
      if (m) meta = JSON.parse(m[1]);
      if (line === '```http' && meta) {
        const end = lines.indexOf('```', i + 1);
        const raw = fixtureBytes(lines.slice(i + 1, end));
        const logStart = lines.indexOf('```log', end);
        const logEnd = lines.indexOf('```', logStart + 1);
        const expectation = fixtureExpectation(lines.slice(logStart + 1, logEnd));
        // Pausing and skipBody change only how llhttp's test harness drives
        // the parser, not what the bytes mean; request-finish cases are plain
        // requests. "request-lenient-*" need flags a strict proxy refuses;
        // upgrades are judged like them (the log stops at the upgrade), and
        // so is skipBody, where the harness itself declares the body absent.
        const lenient = (meta.type !== 'request' && meta.type !== 'request-finish') || expectation.upgrade ||
            meta.skipBody === true;
        if (meta.type.startsWith('request')) {
          cases.push({name: `${file}: ${heading}`, raw, kind: lenient ? 'lenient' : 'llhttp', ...expectation});
        }
        meta = null;
        i = logEnd;
      }
    }
  }
  return cases;
}

// --- the upstream's records, read incrementally -----------------------------

class Records {
  constructor(file) {
    this.file = file;
    this.offset = 0;
    this.partial = '';
    this.lines = [];
  }
  poll() {
    let fd;
    try { fd = fs.openSync(this.file, 'r'); } catch { return; }
    const buffer = Buffer.alloc(1 << 16);
    for (;;) {
      const n = fs.readSync(fd, buffer, 0, buffer.length, this.offset);
      if (n <= 0) break;
      this.offset += n;
      this.partial += buffer.toString('latin1', 0, n);
    }
    fs.closeSync(fd);
    const parts = this.partial.split('\n');
    this.partial = parts.pop();
    for (const p of parts) if (p) this.lines.push(JSON.parse(p));
  }
  async waitFor(count, ms) {
    const end = Date.now() + ms;
    for (;;) {
      this.poll();
      if (this.lines.length >= count || Date.now() > end) return this.lines[count - 1];
      await new Promise((r) => setTimeout(r, 2));
    }
  }
}

// --- one exchange ------------------------------------------------------------

function exchange(raw) {
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), host);
    const chunks = [];
    let settled = false;
    const finish = (how) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const statuses = [...text.matchAll(/(?:^|\r\n)HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
      resolve({how, statuses});
    };
    const timer = setTimeout(() => finish('timeout'), 4000);
    socket.on('connect', () => socket.end(raw));
    socket.on('data', (d) => chunks.push(d));
    socket.on('end', () => finish('end'));
    socket.on('error', (e) => finish(e.code || 'error'));
    socket.on('close', () => finish('close'));
  });
}

// --- oracles -----------------------------------------------------------------

// Inputs llhttp's newer test suite expects to be accepted and weft refuses
// on purpose. Only a refusal is excused here (nothing upstream, an error
// status to the client), never a forwarded input.
const refusedByDesign = {
  'method.md: QUERY request': 'Debian\'s llhttp 8.1 predates the QUERY method',
  'method.md: ANNOUNCE request with RTSP': 'RTSP is not HTTP: not forwarded as HTTP',
  'transfer-encoding.md: POST with `chunked` as last transfer-encoding':
      'codings other than chunked get 501: re-framing would need decoding them',
  'transfer-encoding.md: POST with `chunked` as last transfer-encoding (multiple headers)':
      'codings other than chunked get 501, and so do several Transfer-Encoding lines',
};

const proxyRejected = (reply) => reply.statuses.some((s) => s >= 400 && s < 500) || reply.statuses.length === 0;
const parseErrors = (record) => record.errors.filter((e) => e !== 'HPE_INVALID_EOF_STATE');

function judge(c, reply, record) {
  if (!record) return 'no upstream connection recorded';
  const errors = parseErrors(record);
  if (errors.length) return `upstream parse error ${errors.join(',')}`;
  const complete = record.requests.filter((r) => r.complete);
  if (record.requests.length === 0 && record.errors.length) return 'a partial request head reached the upstream';
  if (c.kind === 'smuggler') {
    if (record.requests.length === 0) return proxyRejected(reply) ? 'rejected' : `nothing upstream but client got ${reply.statuses}`;
    if (record.requests.length !== 1) return `${record.requests.length} requests upstream from one payload`;
    return 'forwarded';
  }
  if (c.kind === 'lenient') {
    const allowed = c.messages.filter((m) => m.done).length;
    if (complete.length > allowed) return `${complete.length} complete requests upstream, llhttp saw ${allowed}`;
    return complete.length ? 'forwarded' : 'rejected';
  }
  const done = c.messages.filter((m) => m.done);
  const started = c.messages.filter((m) => m.headersDone);
  if (complete.length !== done.length) return `${complete.length} complete requests upstream, expected ${done.length}`;
  if (record.requests.length > started.length) return `${record.requests.length} requests upstream, llhttp saw ${started.length}`;
  for (let i = 0; i < done.length; i++) {
    const want = done[i], got = record.requests[i];
    if (got.method !== want.method || got.url !== want.url || got.body !== want.body) {
      return `request ${i}: upstream got ${JSON.stringify([got.method, got.url, got.body])}, expected ` +
          JSON.stringify([want.method, want.url, want.body]);
    }
  }
  // The erroring message itself got a 4xx or the connection closed (every
  // exchange ends in a close, so only a hang is wrong here).
  if (c.error && reply.how === 'timeout') return `llhttp fails it (${c.error}) but the proxy kept the connection open`;
  return c.error ? 'rejected' : 'forwarded';
}

async function main() {
  const cases = (kind === 'smuggler' ? smugglerCases(source) : llhttpCases(source)).slice(0, limit);
  const records = new Records(recordFile);
  records.poll();
  const base = records.lines.length;
  const summary = {kind, cases: cases.length, rejected: 0, forwarded: 0, failed: 0, failures: [], refusedByDesign: []};
  for (let i = 0; i < cases.length; i++) {
    const reply = await exchange(cases[i].raw);
    const record = await records.waitFor(base + i + 1, 5000);
    let verdict = judge(cases[i], reply, record);
    const excuse = refusedByDesign[cases[i].name];
    if (excuse && record && record.requests.length === 0 && reply.statuses.some((s) => s >= 400)) {
      verdict = 'rejected';
      summary.refusedByDesign.push({name: cases[i].name, why: excuse});
    }
    if (verdict === 'rejected' || verdict === 'forwarded') {
      summary[verdict]++;
    } else {
      summary.failed++;
      if (summary.failures.length < 10) summary.failures.push({name: cases[i].name, verdict, client: reply});
      if (!record) break;  // the records no longer line up with the inputs
    }
  }
  console.log(JSON.stringify(summary));
}

main();
