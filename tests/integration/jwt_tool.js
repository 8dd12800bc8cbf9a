#!/usr/bin/env node
// Signs and verifies JWTs with Node's own crypto (an implementation independent of the
// relay's wolfCrypt), for the identity tests.
//
//   node jwt_tool.js keys DIR                 → DIR/{rs256,es256,eddsa}.pem and DIR/jwks.json
//   node jwt_tool.js sign DIR ALG KID JSON    → a compact JWT (ALG: RS256, ES256, EdDSA, none)
//   node jwt_tool.js verify JWKS_FILE JWT     → the payload JSON when the signature verifies
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const FILES = { RS256: 'rs256.pem', ES256: 'es256.pem', EdDSA: 'eddsa.pem' };

function makeKeys(dir) {
  const pairs = {
    RS256: crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }),
    ES256: crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    EdDSA: crypto.generateKeyPairSync('ed25519'),
  };
  const keys = [];
  for (const [alg, pair] of Object.entries(pairs)) {
    fs.writeFileSync(path.join(dir, FILES[alg]), pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    keys.push({ ...pair.publicKey.export({ format: 'jwk' }), kid: alg.toLowerCase(), alg, use: 'sig' });
  }
  fs.writeFileSync(path.join(dir, 'jwks.json'), JSON.stringify({ keys }));
}

function sign(dir, alg, kid, payload) {
  const header = { alg, typ: 'JWT' };
  if (kid) header.kid = kid;
  const input = b64url(JSON.stringify(header)) + '.' + b64url(payload);
  if (alg === 'none') return input + '.';
  const key = crypto.createPrivateKey(fs.readFileSync(path.join(dir, FILES[alg])));
  const signature = alg === 'EdDSA' ? crypto.sign(null, Buffer.from(input), key)
    : crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return input + '.' + b64url(signature);
}

function verify(jwksFile, jwt) {
  const [h, p, s] = jwt.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const jwk = JSON.parse(fs.readFileSync(jwksFile)).keys.find((k) => k.kid === header.kid);
  if (!jwk) throw new Error('no key ' + header.kid);
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  const ok = header.alg === 'ES256'
    && crypto.verify('sha256', Buffer.from(h + '.' + p), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'));
  if (!ok) throw new Error('signature does not verify');
  return Buffer.from(p, 'base64url').toString();
}

const [command, ...args] = process.argv.slice(2);
if (command === 'keys') makeKeys(args[0]);
else if (command === 'sign') process.stdout.write(sign(args[0], args[1], args[2], args[3]));
else if (command === 'verify') process.stdout.write(verify(args[0], args[1]));
else { console.error('usage: jwt_tool.js keys|sign|verify …'); process.exit(2); }
