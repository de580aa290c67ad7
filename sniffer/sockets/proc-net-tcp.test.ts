import { describe, expect, it } from 'vitest';
import { decodeProcAddress, inferConnections, parseProcNetTcp, TCP_STATE } from './proc-net-tcp.js';

// Rows in the exact layout the kernel prints (net/ipv4/tcp_ipv4.c, net/ipv6/tcp_ipv6.c), from a
// little-endian host: 10.0.0.5 is printed 0500000A.
const TCP4 = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0
   1: 0100007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1002 1 0000000000000000 100 0 0 10 0
   2: 0500000A:1F90 0600000A:A8F2 01 00000000:00000000 00:00000000 00000000     0        0 1003 1 0000000000000000 20 4 30 10 -1
   3: 0500000A:C350 0700000A:01BB 01 00000000:00000000 00:00000000 00000000     0        0 1004 1 0000000000000000 20 4 30 10 -1
   4: 0100007F:9C40 0100007F:0035 01 00000000:00000000 00:00000000 00000000     0        0 1005 1 0000000000000000 20 4 30 10 -1
   5: 0500000A:D000 0800000A:0050 06 00000000:00000000 00:00000000 00000000     0        0 0 3 0000000000000000
`;

// fd00::5 → words 0x0000_00fd 0 0 0x0500_0000 printed in host (LE) order per 32-bit word.
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2001 1 0000000000000000 100 0 0 10 0
   1: 000000FD000000000000000005000000:1F91 000000FD000000000000000006000000:B000 01 00000000:00000000 00:00000000 00000000     0        0 2002 1 0000000000000000 20 4 30 10 -1
   2: 0000000000000000FFFF00000500000A:1F90 0000000000000000FFFF00000900000A:B001 01 00000000:00000000 00:00000000 00000000     0        0 2003 1 0000000000000000 20 4 30 10 -1
`;

describe('decodeProcAddress', () => {
  it('reads IPv4 words in host (little-endian) order', () => {
    expect(decodeProcAddress('0500000A')).toBe('10.0.0.5');
    expect(decodeProcAddress('0100007F')).toBe('127.0.0.1');
    expect(decodeProcAddress('0A000005', false)).toBe('10.0.0.5');
  });
  it('reads IPv6 as four little-endian 32-bit words and writes RFC 5952 text', () => {
    expect(decodeProcAddress('000000FD000000000000000005000000')).toBe('fd00::5');
    expect(decodeProcAddress('00000000000000000000000001000000')).toBe('::1');
    expect(decodeProcAddress('B80D0120000000000000000001000000')).toBe('2001:db8::1');
  });
  it('writes IPv4-mapped IPv6 as plain IPv4 (the packet decoder sees IPv4 on the wire)', () => {
    expect(decodeProcAddress('0000000000000000FFFF00000500000A')).toBe('10.0.0.5');
  });
  it('rejects bad lengths and non-hex text', () => {
    expect(decodeProcAddress('0500000')).toBeNull();
    expect(decodeProcAddress('0500000G')).toBeNull();
    expect(decodeProcAddress('')).toBeNull();
  });
});

describe('parseProcNetTcp', () => {
  it('parses every row, skipping the header', () => {
    const r = parseProcNetTcp(TCP4);
    expect(r.errors).toEqual({});
    expect(r.sockets).toHaveLength(6);
    expect(r.sockets[0]).toEqual({
      localAddress: '0.0.0.0',
      localPort: 8080,
      remoteAddress: '0.0.0.0',
      remotePort: 0,
      state: TCP_STATE.listen,
    });
    expect(r.sockets[2]).toEqual({
      localAddress: '10.0.0.5',
      localPort: 8080,
      remoteAddress: '10.0.0.6',
      remotePort: 43250,
      state: TCP_STATE.established,
    });
  });
  it('counts malformed rows by reason instead of throwing', () => {
    const text = `header
   0: 0500000A:1F90
   1: 0500000Z:1F90 0600000A:A8F2 01 x
   2: 0500000A:1F9 0600000A:A8F2 01 x
   3: 0500000A:1F90 0600000A:A8F2 1 x
   4: 0500000A 0600000A:A8F2 01 x
`;
    const r = parseProcNetTcp(text);
    expect(r.sockets).toEqual([]);
    expect(r.errors).toEqual({ 'bad-columns': 1, 'bad-address': 2, 'bad-port': 1, 'bad-state': 1 });
  });
  it('parses an empty table', () => {
    expect(parseProcNetTcp('').sockets).toEqual([]);
  });
});

describe('inferConnections', () => {
  it('reports inbound connections to a listening port with the remote as the client', () => {
    const conns = inferConnections(parseProcNetTcp(TCP4).sockets);
    expect(conns).toContainEqual({
      src: '10.0.0.6',
      sport: 43250,
      dst: '10.0.0.5',
      dport: 8080,
      direction: 'inbound',
    });
  });
  it('reports outbound connections with the remote port as the server port, never the ephemeral one', () => {
    const conns = inferConnections(parseProcNetTcp(TCP4).sockets);
    expect(conns).toContainEqual({
      src: '10.0.0.5',
      sport: 50000,
      dst: '10.0.0.7',
      dport: 443,
      direction: 'outbound',
    });
  });
  it('skips loopback and non-established sockets', () => {
    const conns = inferConnections(parseProcNetTcp(TCP4).sockets);
    expect(conns).toHaveLength(2);
  });
  it('treats a dual-stack [::] listener as listening for IPv4 and IPv6', () => {
    const sockets = [...parseProcNetTcp(TCP6).sockets, ...parseProcNetTcp(TCP4).sockets];
    const conns = inferConnections(sockets);
    expect(conns).toContainEqual({
      src: 'fd00::6',
      sport: 45056,
      dst: 'fd00::5',
      dport: 8081,
      direction: 'inbound',
    });
    expect(conns).toContainEqual({
      src: '10.0.0.9',
      sport: 45057,
      dst: '10.0.0.5',
      dport: 8080,
      direction: 'inbound',
    });
  });
  it('does not treat a port listened on another address as inbound', () => {
    const conns = inferConnections([
      {
        localAddress: '10.0.0.1',
        localPort: 9000,
        remoteAddress: '0.0.0.0',
        remotePort: 0,
        state: TCP_STATE.listen,
      },
      {
        localAddress: '10.0.0.2',
        localPort: 9000,
        remoteAddress: '10.0.0.3',
        remotePort: 80,
        state: TCP_STATE.established,
      },
    ]);
    expect(conns).toEqual([
      { src: '10.0.0.2', sport: 9000, dst: '10.0.0.3', dport: 80, direction: 'outbound' },
    ]);
  });
});
