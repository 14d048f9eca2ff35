// Drives the sandbox signing agent with the REAL npm `ncalayer-js-client`
// (the portal's browser code), in Node, and prints what it got as JSON.
//
//   node tests/signing/ncalayer_client_check.mjs ws://127.0.0.1:PORT [sign|cancel]
//
// "sign": connect, getActiveTokens, getKeyInfo, signXml, signXmls,
// basicsSignXML (one document and an array), basicsSignXML with the
// authentication key. "cancel": the same signing calls, reporting each
// NCALayerError's message and canceledByUser.
//
// The client file is UMD-ish: it assigns `exports.NCALayerClient` and, with no
// global WebSocket (Node 20), requires the `ws` package.

import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(path.join(repo, 'package.json'));
const { NCALayerClient } = require('ncalayer-js-client');

const [url, mode = 'sign'] = process.argv.slice(2);
const XML = '<request><iin>900517401370</iin><nonce>abc</nonce></request>';

async function attempt(call) {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    return {
      ok: false,
      name: error.name,
      message: error.message,
      canceledByUser: error.canceledByUser === true,
    };
  }
}

async function main() {
  const client = new NCALayerClient(url, false);
  const out = { mode };
  out.version = await client.connect();
  out.isKmd = client.isKmd;
  if (mode === 'sign') {
    out.activeTokens = await attempt(() => client.getActiveTokens());
    out.keyInfo = await attempt(() => client.getKeyInfo(NCALayerClient.fileStorageType));
  }
  out.signXml = await attempt(() => client.signXml('PKCS12', XML, 'SIGNATURE', '', ''));
  out.signXmlAuth = await attempt(() => client.signXml('PKCS12', XML, 'AUTHENTICATION', '', ''));
  out.signXmls = await attempt(() => client.signXmls('PKCS12', [XML, XML], 'SIGNATURE', '', ''));
  out.basics = await attempt(() => client.basicsSignXML(
    NCALayerClient.basicsStoragePKCS12,
    XML,
    NCALayerClient.basicsXMLParams,
    NCALayerClient.basicsSignerSignAny,
    'ru',
  ));
  out.basicsArray = await attempt(() => client.basicsSignXML(
    NCALayerClient.basicsStorageAll,
    [XML, XML],
    NCALayerClient.basicsXMLParams,
    NCALayerClient.basicsSignerSignAny,
  ));
  out.basicsAuth = await attempt(() => client.basicsSignXML(
    NCALayerClient.basicsStoragePKCS12,
    XML,
    NCALayerClient.basicsXMLParams,
    NCALayerClient.basicsSignerAuthAny,
  ));
  out.badXml = await attempt(() => client.signXml('PKCS12', '<this>is not a valid XML', 'SIGNATURE', '', ''));
  client.wsConnection.close();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`ncalayer_client_check failed: ${error && error.stack ? error.stack : error}\n`);
    process.exit(1);
  },
);
