// The OpenTelemetry collector of the tracing end-to-end test:
//   node otlp_collector.js HOST PORT OUT_FILE
// Takes OTLP/HTTP JSON exports (POST /v1/traces, Content-Type
// application/json, optionally gzip-encoded), answers 200 {} (the OTLP
// success answer), and appends one JSON line per span to OUT_FILE:
//   {traceId, spanId, parentSpanId, name, kind, service, node, attributes,
//    startTimeUnixNano, endTimeUnixNano, status}
// where service and node are the resource's service.name and k8s.node.name,
// and attributes are flattened to {key: value} (an intValue becomes a number
// when it fits one exactly). Lines are written before the answer, so a test
// that saw the exporter succeed can read them. Another path answers 404,
// another method 405, another content type 415, a body that is not an OTLP
// export 400: an exporter that gets these wrong fails the test visibly.
'use strict';
const http = require('http');
const fs = require('fs');
const zlib = require('zlib');

const kMaxBody = 16 * 1024 * 1024;

const [host, port, outFile] = process.argv.slice(2);
if (!host || !port || !outFile) {
  console.error('usage: node otlp_collector.js HOST PORT OUT_FILE');
  process.exit(2);
}

function answer(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {'content-type': 'application/json', 'content-length': Buffer.byteLength(text)});
  res.end(text);
}

// An OTLP AnyValue as a plain JSON value.
function plainValue(value) {
  if (value === undefined || value === null) return null;
  if ('stringValue' in value) return value.stringValue;
  if ('boolValue' in value) return value.boolValue;
  if ('doubleValue' in value) return value.doubleValue;
  if ('intValue' in value) {
    const n = Number(value.intValue);
    return Number.isSafeInteger(n) ? n : String(value.intValue);
  }
  if ('bytesValue' in value) return value.bytesValue;
  if ('arrayValue' in value) return (value.arrayValue.values || []).map(plainValue);
  if ('kvlistValue' in value) return flatten(value.kvlistValue.values);
  return null;
}

function flatten(attributes) {
  const out = {};
  for (const a of attributes || []) out[a.key] = plainValue(a.value);
  return out;
}

// One line per span; throws on a body that is not an ExportTraceServiceRequest.
function spanLines(request) {
  if (!request || !Array.isArray(request.resourceSpans)) throw new Error('no resourceSpans array');
  const lines = [];
  for (const resourceSpans of request.resourceSpans) {
    const resource = flatten(resourceSpans.resource && resourceSpans.resource.attributes);
    for (const scopeSpans of resourceSpans.scopeSpans || []) {
      for (const span of scopeSpans.spans || []) {
        lines.push(JSON.stringify({
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId || '',
          name: span.name,
          kind: span.kind,
          service: resource['service.name'] === undefined ? null : resource['service.name'],
          node: resource['k8s.node.name'] === undefined ? null : resource['k8s.node.name'],
          attributes: flatten(span.attributes),
          startTimeUnixNano: span.startTimeUnixNano,
          endTimeUnixNano: span.endTimeUnixNano,
          status: {code: (span.status && span.status.code) || 0, message: (span.status && span.status.message) || ''},
        }));
      }
    }
  }
  return lines;
}

const server = http.createServer({requestTimeout: 0, headersTimeout: 20000}, (req, res) => {
  const path = req.url.split('?')[0];
  if (path !== '/v1/traces') return answer(res, 404, {message: `no route for ${path}`});
  if (req.method !== 'POST') return answer(res, 405, {message: 'POST only'});
  const type = String(req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') return answer(res, 415, {message: `content type '${type}' is not application/json`});
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size <= kMaxBody) chunks.push(chunk);
  });
  req.on('end', () => {
    if (size > kMaxBody) return answer(res, 413, {message: 'body too large'});
    let lines;
    try {
      let body = Buffer.concat(chunks);
      if (String(req.headers['content-encoding'] || '').toLowerCase() === 'gzip') body = zlib.gunzipSync(body);
      lines = spanLines(JSON.parse(body.toString('utf8')));
    } catch (err) {
      return answer(res, 400, {message: `not an OTLP JSON trace export: ${err.message}`});
    }
    if (lines.length > 0) fs.appendFileSync(outFile, lines.join('\n') + '\n');
    answer(res, 200, {});
  });
});
server.keepAliveTimeout = 20000;
server.listen(Number(port), host, () => console.log(`otlp collector on ${host}:${port} writing ${outFile}`));
