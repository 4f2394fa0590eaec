#!/usr/bin/env node
// Calls the mesh through the gateway from Node, with nothing but protos/ (loaded at run time by
// @grpc/proto-loader) and @grpc/grpc-js:
//
//   (cd clients/node && npm ci)
//   MESH_ADDRESS=127.0.0.1:8080 MESH_API_KEY=$(cat .mesh/dev-key) node clients/node/mesh-client.js
//
// Streams a Generate, creates a collection, upserts and searches it, checks a text with Guard, and
// shows that errors arrive as gRPC statuses (NOT_FOUND for an unknown model, UNAUTHENTICATED without
// a key). Prints one JSON line of what it saw; exits non-zero at the first unexpected answer.
'use strict';
const path = require('node:path');
const crypto = require('node:crypto');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const protos = path.join(__dirname, '..', '..', 'protos');
const definition = protoLoader.loadSync(
  ['mesh/inference/v1/inference.proto', 'mesh/retrieval/v1/retrieval.proto', 'mesh/guard/v1/guard.proto'],
  { includeDirs: [protos], keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
const mesh = grpc.loadPackageDefinition(definition).mesh;

function expect(condition, what) {
  if (!condition) {
    console.error(`mesh-client.js: unexpected: ${what}`);
    process.exit(1);
  }
}

const deadline = (seconds) => ({ deadline: new Date(Date.now() + seconds * 1000) });
const unary = (client, method, request, metadata) => new Promise((resolve, reject) =>
  client[method](request, metadata, deadline(30), (error, response) => (error ? reject(error) : resolve(response))));

async function main() {
  const address = process.env.MESH_ADDRESS || '127.0.0.1:8080';
  const model = process.env.MESH_MODEL || 'stories260K';
  const auth = new grpc.Metadata();
  auth.set('authorization', `Bearer ${process.env.MESH_API_KEY}`);
  const credentials = grpc.credentials.createInsecure();
  const inference = new mesh.inference.v1.InferenceService(address, credentials);
  const retrieval = new mesh.retrieval.v1.RetrievalService(address, credentials);
  const guard = new mesh.guard.v1.GuardService(address, credentials);
  const seen = {};

  // Server-streaming Generate: one message per decoded piece, the last with a finish reason.
  const pieces = [];
  await new Promise((resolve, reject) => {
    const call = inference.Generate({ model, prompt: 'Once upon a time', max_tokens: 16 }, auth, deadline(60));
    call.on('data', (response) => {
      pieces.push(response.text);
      if (response.finish_reason !== 'FINISH_REASON_UNSPECIFIED') seen.finish_reason = response.finish_reason;
    });
    call.on('error', reject);
    call.on('end', resolve);
  });
  expect(pieces.length > 0 && pieces.join('').trim() !== '', 'Generate streamed no text');
  seen.generate_messages = pieces.length;
  seen.generate_text = pieces.join('');

  const collection = 'node-' + crypto.randomBytes(6).toString('hex');
  await unary(retrieval, 'CreateCollection', { name: collection, dimensions: 3, metric: 'METRIC_COSINE' }, auth);
  const points = [[1, 0, 0], [0, 1, 0], [0, 0, 1]].map((values, i) => ({ id: { num: i + 1 }, vector: { values } }));
  await unary(retrieval, 'Upsert', { collection, points }, auth);
  const found = await unary(retrieval, 'Search', { collection, vector: { values: [0.1, 0.9, 0] }, limit: 2 }, auth);
  seen.search_ids = found.points.map((p) => p.id.num);
  expect(seen.search_ids[0] === 2, `Search ranked ${seen.search_ids}, expected point 2 first`);
  await unary(retrieval, 'DropCollection', { name: collection }, auth);

  const checked = await unary(guard, 'Check', { stage: 'STAGE_OUTPUT', text: 'Write to jane.doe@example.com today.' }, auth);
  seen.check_verdict = checked.verdict;
  seen.check_redacted = checked.redacted_text;
  expect(!checked.redacted_text.includes('jane.doe@example.com'), 'Guard left the e-mail address in');

  const failures = [
    ['unknown_model', () => unary(inference, 'Complete', { model: 'no-such-model', prompt: 'x', max_tokens: 1 }, auth)],
    ['no_key', () => unary(guard, 'Check', { stage: 'STAGE_OUTPUT', text: 'hi' }, new grpc.Metadata())],
  ];
  for (const [name, call] of failures) {
    try {
      await call();
      expect(false, `${name}: the call succeeded`);
    } catch (error) {
      seen[name] = grpc.status[error.code];
    }
  }

  for (const client of [inference, retrieval, guard]) client.close();
  console.log(JSON.stringify(seen));
}

main().catch((error) => {
  console.error(`mesh-client.js: ${error.code !== undefined ? grpc.status[error.code] + ': ' : ''}${error.details || error.message}`);
  process.exit(1);
});
