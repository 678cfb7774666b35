// Draws the app icons (the same design as src/web/icon.svg: a prompt chevron and cursor on a dark
// tile) as PNG files, for the web app manifest and iOS, with no image library: each pixel's coverage
// comes from the distance to the shapes, and the PNG is encoded with zlib.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

const BG = [0x16, 0x18, 0x1d];
const GREEN = [0x3f, 0xb9, 0x50];
const WHITE = [0xe6, 0xe6, 0xe6];

/** Distance from (px, py) to the segment (ax, ay)-(bx, by). */
function segment(px, py, ax, ay, bx, by) {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - ax - t * dx, py - ay - t * dy);
}

/** Signed distance to a rounded square of side 64 and corner radius r (negative inside). */
function roundedSquare(x, y, r) {
  const qx = Math.abs(x - 32) - (32 - r);
  const qy = Math.abs(y - 32) - (32 - r);
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - r;
}

/**
 * RGBA pixels of the icon at `size` px. `glyphScale` shrinks the glyph towards the centre (maskable
 * icons keep it in the inner 80%); `radius` 0 fills the whole square (platforms round it themselves).
 */
function draw(size, { radius, glyphScale }) {
  const px = new Uint8Array(size * size * 4);
  const unit = size / 64; // pixels per design unit
  const cover = (distance) => Math.max(0, Math.min(1, 0.5 - distance * unit));
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      const x = (i + 0.5) / unit;
      const y = (j + 0.5) / unit;
      const bg = radius > 0 ? cover(roundedSquare(x, y, radius)) : 1;
      // The glyph, in design units before scaling about the centre.
      const gx = 32 + (x - 32) / glyphScale;
      const gy = 32 + (y - 32) / glyphScale;
      const chevron = cover((Math.min(segment(gx, gy, 16, 22, 28, 32), segment(gx, gy, 28, 32, 16, 42)) - 3) * glyphScale);
      const cursor = cover((segment(gx, gy, 32, 44, 48, 44) - 3) * glyphScale);
      let color = BG;
      color = mix(color, GREEN, chevron);
      color = mix(color, WHITE, cursor);
      const o = (j * size + i) * 4;
      px[o] = color[0];
      px[o + 1] = color[1];
      px[o + 2] = color[2];
      px[o + 3] = Math.round(bg * 255);
    }
  }
  return px;
}

function mix(a, b, t) {
  return a.map((v, k) => Math.round(v + (b[k] - v) * t));
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

function png(size, rgba) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let j = 0; j < size; j++) Buffer.from(rgba.buffer, j * size * 4, size * 4).copy(raw, j * (size * 4 + 1) + 1);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Writes every icon into `dir`; returns their file names. */
export function writeIcons(dir) {
  const icons = {
    'icon-192.png': [192, { radius: 14, glyphScale: 1 }],
    'icon-512.png': [512, { radius: 14, glyphScale: 1 }],
    'icon-maskable-512.png': [512, { radius: 0, glyphScale: 0.8 }],
    'apple-touch-icon.png': [180, { radius: 0, glyphScale: 0.9 }],
  };
  for (const [name, [size, options]] of Object.entries(icons)) writeFileSync(join(dir, name), png(size, draw(size, options)));
  return Object.keys(icons);
}
