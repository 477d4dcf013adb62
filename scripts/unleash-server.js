// unleash-server.js: starts unleash-server (installed by scripts/unleash.sh)
// for phasegate's tests and sandbox, on 127.0.0.1 only, against an existing
// PostgreSQL database (Unleash migrates it), with one admin API token made
// at first start (initApiTokens: only while the token table is empty, so
// use a fresh database per run). Configured by the environment:
//   PHG_UNLEASH_DIR   the install folder (default /opt/phasegate-deps/unleash)
//   UNLEASH_DB_URL    postgres://user@127.0.0.1:PORT/DB
//   UNLEASH_PORT      port on 127.0.0.1 (default 4242)
//   UNLEASH_ADMIN_TOKEN  e.g. "*:*.some-secret" (never printed)
// Run it with SEND_TELEMETRY=false CHECK_VERSION=false (the tests do).
'use strict';
const path = require('path');
const { createRequire } = require('module');
const { pathToFileURL } = require('url');

const dir = process.env.PHG_UNLEASH_DIR || '/opt/phasegate-deps/unleash';
// unleash-server 7 is an ES module: resolve it from the install folder,
// then import() it (require() of ES modules is not in every Node 20).
const entry = createRequire(path.join(dir, 'package.json')).resolve('unleash-server');

const db = process.env.UNLEASH_DB_URL;
const token = process.env.UNLEASH_ADMIN_TOKEN;
if (!db || !token) {
  console.error('unleash-server.js: set UNLEASH_DB_URL and UNLEASH_ADMIN_TOKEN');
  process.exit(2);
}

import(pathToFileURL(entry).href)
  .then((m) => (m.default && m.default.start ? m.default : m).start({
    databaseUrl: db,
    db: { ssl: false },
    server: { port: Number(process.env.UNLEASH_PORT || 4242), host: '127.0.0.1' },
    logLevel: 'warn',
    authentication: {
      type: 'open-source',
      createAdminUser: true,
      initApiTokens: [
        // tokenName is required by 7.x (the insert fails without it).
        { type: 'admin', tokenName: 'phasegate-admin', environment: '*',
          project: '*', projects: ['*'], secret: token },
      ],
    },
  }))
  .then(() => console.log('unleash-server.js: started'))
  .catch((e) => {
    console.error('unleash-server.js: cannot start:', e && e.message);
    process.exit(1);
  });
