/**
 * Writes a dataset's images out as PNG files, under the file_name of captions.json (so the folder and
 * the dataset's own COCO / VQAv2 JSON files work with tools that expect image files), or into one
 * sub-folder per class (the image-folder layout). Also a contact sheet for looking at a dataset.
 */
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { writeDirAtomic, writeFileAtomic } from '../util/fs.js';
import { UserError } from '../util/errors.js';
import { encodePng, tileImages } from './images.js';
import type { Dataset } from './open.js';

export interface ExportOptions {
  /** One sub-folder per class name instead of the flat file_name layout. */
  byClass?: boolean;
  /** Only this split. */
  split?: string;
}

/** Writes the PNGs into `folder` (replaced atomically); returns the number of files written. */
export async function exportImages(ds: Dataset, folder: string, o: ExportOptions = {}): Promise<number> {
  if (o.byClass && ds.classes.length === 0) throw new UserError(`Dataset ${ds.dir} has no class labels; export it without --by-class.`);
  let count = 0;
  await writeDirAtomic(folder, async (tmp) => {
    const made = new Set<string>();
    for (const im of ds.images(o.split)) {
      const sub = o.byClass ? (im.labelName ?? 'unlabelled').replace(/[/\\]/g, '_') : '';
      const name = o.byClass ? basename(im.fileName) : im.fileName;
      const dir = join(tmp, sub, name.includes('/') ? name.slice(0, name.lastIndexOf('/')) : '');
      if (!made.has(dir)) {
        await mkdir(dir, { recursive: true });
        made.add(dir);
      }
      const file = /\.png$/i.test(name) ? name : `${name}.png`;
      await writeFileAtomic(join(tmp, sub, file), await encodePng(im));
      count++;
    }
  });
  return count;
}

/** A PNG contact sheet of the first `n` images (optionally of one split), `cols` per row, each scaled by `zoom`. */
export async function contactSheet(ds: Dataset, n = 64, cols = 8, zoom = 4, split?: string): Promise<Buffer> {
  const imgs = [];
  for (const im of ds.images(split)) {
    if (imgs.length >= n) break;
    imgs.push(im);
  }
  if (imgs.length === 0) throw new UserError(`Dataset ${ds.dir} has no images${split ? ` in split ${split}` : ''} to show.`);
  const sheet = tileImages(imgs, Math.min(cols, imgs.length));
  const z = Math.max(1, Math.floor(zoom));
  const big = new Uint8Array(sheet.pixels.length * z * z);
  const W = sheet.width * z, c = sheet.channels;
  for (let y = 0; y < sheet.height * z; y++) {
    for (let x = 0; x < W; x++) {
      const src = ((Math.floor(y / z) * sheet.width) + Math.floor(x / z)) * c;
      big.set(sheet.pixels.subarray(src, src + c), (y * W + x) * c);
    }
  }
  return encodePng({ width: W, height: sheet.height * z, channels: c, pixels: big });
}
