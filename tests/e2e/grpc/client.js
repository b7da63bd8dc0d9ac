// A real gRPC client (@grpc/grpc-js, h2c prior knowledge) for the test:
//   node client.js ADDR unary TEXT        one call; prints {code, text, bytes}
//   node client.js ADDR stream N BYTES    N messages of BYTES each on one Chat stream
// Prints one JSON line; exits 0 whatever the status, so the test reads it.
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');
const path = require('path');
const crypto = require('crypto');

const proto = grpc.loadPackageDefinition(loader.loadSync(path.join(__dirname, 'echo.proto')));
const [addr, mode, arg1, arg2] = process.argv.slice(2);
const client = new proto.weft.test.Echo(addr, grpc.credentials.createInsecure());
const deadline = new Date(Date.now() + 20000);
const done = (result) => {
  console.log(JSON.stringify(result));
  client.close();
};

if (mode === 'unary') {
  client.Say({text: arg1}, {deadline}, (err, reply) => {
    if (err) done({code: err.code, details: err.details});
    else done({code: 0, text: reply.text});
  });
} else if (mode === 'stream') {
  const count = Number(arg1), size = Number(arg2);
  const sent = crypto.createHash('sha256'), received = crypto.createHash('sha256');
  let replies = 0;
  const call = client.Chat({deadline});
  call.on('data', (m) => {
    replies++;
    received.update(m.payload);
  });
  call.on('error', (err) => done({code: err.code, details: err.details, replies}));
  call.on('status', (s) => {
    if (s.code === 0) done({code: 0, replies, same: sent.digest('hex') === received.digest('hex')});
  });
  for (let i = 0; i < count; i++) {
    const payload = crypto.randomBytes(size);
    sent.update(payload);
    call.write({text: String(i), payload});
  }
  call.end();
} else {
  console.error('usage: client.js ADDR unary TEXT | stream N BYTES');
  process.exit(2);
}
