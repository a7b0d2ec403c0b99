// Renders build/icon.svg to build/icon.png (512×512), the icon electron-builder turns into each
// platform's format. Run after editing the SVG: node build/make-icon.mjs
import sharp from 'sharp';

const here = new URL('.', import.meta.url);
await sharp(new URL('icon.svg', here).pathname, { density: 144 })
  .resize(512, 512)
  .png({ compressionLevel: 9, adaptiveFiltering: true })
  .toFile(new URL('icon.png', here).pathname);
