// A real gRPC server (@grpc/grpc-js, h2c) for the end-to-end test:
//   node server.js PORT
// Say echoes one message; Chat echoes every message of the stream. Both
// answer with trailers (grpc-status 0) that must cross the mesh intact; a
// text of "fail" gets grpc-status 9 (FAILED_PRECONDITION) to prove that
// non-zero statuses pass too.
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');
const path = require('path');

const proto = grpc.loadPackageDefinition(loader.loadSync(path.join(__dirname, 'echo.proto')));
const server = new grpc.Server();
server.addService(proto.weft.test.Echo.service, {
  Say(call, callback) {
    if (call.request.text === 'fail') {
      callback({code: grpc.status.FAILED_PRECONDITION, details: 'asked to fail'});
      return;
    }
    callback(null, {text: 'echo:' + call.request.text, payload: call.request.payload});
  },
  Chat(call) {
    call.on('data', (m) => call.write({text: 'echo:' + m.text, payload: m.payload}));
    call.on('end', () => call.end());
  },
});
server.bindAsync('0.0.0.0:' + process.argv[2], grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) {
    console.error('bind: ' + err.message);
    process.exit(1);
  }
  console.log('listening');
});
