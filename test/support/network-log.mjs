/**
 * Preloaded into a CLI child process (`NODE_OPTIONS=--import <this file>`) by tests that assert
 * where the process connects: every outgoing connection (`tcp <host>:<port>`) and name lookup
 * (`dns <name>`) is appended as a line to $BOSUN_TEST_NETWORK_LOG. Node's fetch (undici), http,
 * https and tls all connect through net.Socket#connect, and resolve names with dns.lookup.
 */

import dns from 'node:dns';
import { appendFileSync } from 'node:fs';
import net from 'node:net';

const log = process.env.BOSUN_TEST_NETWORK_LOG;
if (log !== undefined) {
  const note = (line) => appendFileSync(log, `${line}\n`);

  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (...args) {
    // net.connect passes its normalized arguments as one array ([options, callback]).
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    const options =
      typeof first === 'object' && first !== null
        ? first
        : typeof first === 'string' && Number.isNaN(Number(first))
          ? { path: first }
          : { port: first, host: args[1] };
    note(
      options.path !== undefined
        ? `ipc ${options.path}`
        : `tcp ${options.host ?? 'localhost'}:${options.port}`,
    );
    return connect.apply(this, args);
  };

  const lookup = dns.lookup;
  dns.lookup = function (hostname, ...rest) {
    note(`dns ${hostname}`);
    return lookup.call(this, hostname, ...rest);
  };
  const promisesLookup = dns.promises.lookup;
  dns.promises.lookup = function (hostname, ...rest) {
    note(`dns ${hostname}`);
    return promisesLookup.call(this, hostname, ...rest);
  };
}
