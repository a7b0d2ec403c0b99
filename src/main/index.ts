/** Electron main: window, validated IPC. Thin: all work lives in core/ (and the engine). */
import { app, BrowserWindow, dialog, ipcMain, type IpcMainInvokeEvent } from 'electron';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { channels, FileInfoRequest, type FileInfo } from '../ipc/contract';
import { decodeSgai } from '../core/format';

let win: BrowserWindow | null = null;
const here = dirname(fileURLToPath(import.meta.url));

function fromOurWindow(e: IpcMainInvokeEvent): void {
  if (!win || e.sender !== win.webContents) throw new Error('IPC request from an unknown sender');
}

function createWindow(): void {
  win = new BrowserWindow({
    width: 1200, height: 800,
    webPreferences: { preload: join(here, '../preload/index.cjs'), contextIsolation: true, sandbox: true, nodeIntegration: false },
  });
  if (process.env.ELECTRON_RENDERER_URL) void win.loadURL(process.env.ELECTRON_RENDERER_URL);
  else void win.loadFile(join(here, '../renderer/index.html'));
}

ipcMain.handle(channels.fileInfo, (e, raw: unknown): FileInfo => {
  fromOurWindow(e);
  const { path } = FileInfoRequest.parse(raw);
  const bytes = readFileSync(path);
  const f = decodeSgai(bytes);
  const h = f.header;
  return {
    path, bytes: statSync(path).size, width: h.width, height: h.height,
    bpp: (bytes.length * 8) / (h.width * h.height), modelId: h.modelId, refined: !!f.refine,
    previewDataUrl: f.preview ? `data:${f.preview.mime};base64,${Buffer.from(f.preview.data).toString('base64')}` : null,
  };
});

ipcMain.handle(channels.openDialog, async (e) => {
  fromOurWindow(e);
  const r = await dialog.showOpenDialog({ filters: [{ name: 'sgai', extensions: ['sgai'] }], properties: ['openFile'] });
  return r.canceled ? null : r.filePaths[0] ?? null;
});

void app.whenReady().then(createWindow);
app.on('window-all-closed', () => app.quit());
