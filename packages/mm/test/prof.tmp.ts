import { GFP_KERNEL, Machine } from "@pcpu/mm";

const m = new Machine({
  pageShift: 12,
  bits: 64,
  vaBits: 47,
  nodes: [{ start: 0, size: 0x10000000 }],
  pageOffset: 0x100000000000,
  vmallocStart: 0x200000000000,
  vmallocEnd: 0x210000000000,
  nrCpus: 1,
});
const pages = 256,
  PAGE = 4096;
const area = m.vmalloc.getVmArea(pages * PAGE, PAGE, "b")!;
for (let i = 0; i < pages; i++) {
  const p = m.pageAlloc.allocPagesNode(0, GFP_KERNEL, 0);
  m.pageAlloc.allocPagesNode(0, GFP_KERNEL, 0);
  m.pgtable.mapPage(area.addr + i * PAGE, p);
}
const offs = new Float64Array(4096);
let s = 0x2545f491;
for (let i = 0; i < 4096; i++) {
  s ^= s << 13;
  s ^= s >>> 17;
  s ^= s << 5;
  offs[i] = ((s >>> 0) % (pages * 1024)) * 4;
}
const base = area.addr,
  mem = m.mem,
  pt = m.pgtable;
function t(name: string, fn: (n: number) => void, n: number) {
  fn(n);
  const t0 = performance.now();
  fn(n);
  console.log(name, (((performance.now() - t0) * 1e6) / n).toFixed(1));
}
for (let r = 0; r < 2; r++) {
  t(
    "translate",
    (n) => {
      let x = 0;
      for (let i = 0; i < n; i++) x += pt.translate(base + offs[i & 4095]!);
      if (x === -5) console.log(x);
    },
    1e6,
  );
  t(
    "lookupPfn",
    (n) => {
      let x = 0;
      for (let i = 0; i < n; i++) x += pt.lookupPfn(base + offs[i & 4095]!);
      if (x === -5) console.log(x);
    },
    1e6,
  );
  t(
    "frameOf",
    (n) => {
      let x = 0;
      for (let i = 0; i < n; i++) x += m.phys.frameOf(i & 511);
      if (x === -5) console.log(x);
    },
    1e6,
  );
  t(
    "write32 scattered",
    (n) => {
      for (let i = 0; i < n; i++) mem.write32(base + offs[i & 4095]!, i);
    },
    1e6,
  );
  t(
    "read32 scattered",
    (n) => {
      let x = 0;
      for (let i = 0; i < n; i++) x += mem.read32(base + offs[i & 4095]!);
      if (x === -5) console.log(x);
    },
    1e6,
  );
  t(
    "memset page",
    (n) => {
      for (let i = 0; i < n; i++) mem.memset(base + (i % pages) * PAGE, (i & 0xfe) + 1, PAGE);
    },
    20000,
  );
}
