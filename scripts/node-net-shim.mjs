// Preload for scripts/node-net-suite.mjs: every require('net') / require('node:net') of the test
// program gets createNet(new Stack()) instead of Node's own net, so Node's net tests run over a
// synack stack (its loopback interface carries 127.0.0.1 and ::1). Load with
// `node --import tsx --import ./scripts/node-net-shim.mjs test.js`.
import Module from 'node:module';
import { Stack } from '../src/stack/index.ts';
import { createNet } from '../src/net/index.ts';

const net = createNet(new Stack({ name: 'node-net-suite' }));
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === 'net' || request === 'node:net') return net;
  return load.call(this, request, ...rest);
};
