// The runtime's IP address parsing (src/ip.js), against Node's own net module.
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { isIP, toWasiAddress, fromWasiAddress, socketAddress } from '../src/ip.js';

const SAMPLES = [
  '127.0.0.1', '0.0.0.0', '255.255.255.255', '256.1.1.1', '1.2.3', '01.2.3.4', '1.2.3.4.5',
  '::', '::1', '2001:db8::1', '2001:db8:0:0:0:0:2:1', 'fe80::1:2:3:4', '::ffff:192.0.2.1',
  '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '1::2::3', ':::', 'g::1', '12345::', 'localhost', '',
  '[::1]', 'fe80::1%eth0',
];

test('isIP agrees with Node on addresses and non-addresses', () => {
  for (const s of SAMPLES) {
    // Scoped addresses are valid in Node; lambkin has no interfaces to scope to.
    if (s.includes('%')) assert.equal(isIP(s), 0, s);
    else assert.equal(isIP(s), net.isIP(s), s);
  }
});

test('addresses go to wasi:sockets and come back as Node writes them', () => {
  assert.deepEqual(toWasiAddress('10.0.0.5'), { tag: 'ipv4', val: [10, 0, 0, 5] });
  assert.deepEqual(toWasiAddress('::ffff:192.0.2.1'), { tag: 'ipv6', val: [0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201] });
  for (const [text, shown] of [['10.0.0.5', '10.0.0.5'], ['::1', '::1'], ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'], ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'], ['1:0:0:2:0:0:0:3', '1:0:0:2::3'], ['0:0:0:0:0:0:0:0', '::'], ['1:0:2:0:3:0:4:0', '1:0:2:0:3:0:4:0'], ['fe80:0:0:0:0:0:0:0', 'fe80::']]) {
    assert.equal(fromWasiAddress(toWasiAddress(text)).address, shown, text);
  }
  assert.deepEqual(socketAddress(toWasiAddress('10.0.0.5'), 5432), { tag: 'ipv4', val: { port: 5432, address: [10, 0, 0, 5] } });
});
