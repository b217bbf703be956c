import { BlockList, isIP } from "node:net";

// IPv4 blocks that are not globally reachable (IANA special-purpose registry), plus multicast and reserved.
const NOT_GLOBAL_V4: [string, number][] = [
  ["0.0.0.0", 8], // "this network"; 0.0.0.0 reaches the local host on Linux
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // CGNAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, where cloud metadata (169.254.169.254) lives
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, and 255.255.255.255
];
// Non-global blocks inside 2000::/3: IETF protocol assignments (Teredo), documentation, 6to4.
const NOT_GLOBAL_V6: [string, number][] = [
  ["2001::", 23],
  ["2001:db8::", 32],
  ["2002::", 16],
  ["3fff::", 20],
];

const notGlobal = new BlockList();
for (const [net, prefix] of NOT_GLOBAL_V4) notGlobal.addSubnet(net, prefix, "ipv4");
for (const [net, prefix] of NOT_GLOBAL_V6) notGlobal.addSubnet(net, prefix, "ipv6");
// IPv6 is checked by allowing rather than denying: only global unicast 2000::/3 passes, which rules out ::,
// ::1, fc00::/7, fe80::/10, ff00::/8, NAT64 and every IPv4-mapped or -compatible spelling at once.
const globalUnicastV6 = new BlockList();
globalUnicastV6.addSubnet("2000::", 3, "ipv6");

/** True only for a global unicast IP address; false for anything else, host names included. */
export function isPublicAddress(ip: string): boolean {
  switch (isIP(ip)) {
    case 4:
      return !notGlobal.check(ip, "ipv4");
    case 6:
      return !ip.includes("%") && globalUnicastV6.check(ip, "ipv6") && !notGlobal.check(ip, "ipv6");
    default:
      return false;
  }
}
