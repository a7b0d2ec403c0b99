/** Exposes the typed API as named functions, nothing else. */
import { contextBridge, ipcRenderer } from 'electron';
import { channels, type SgaiApi } from '../ipc/contract';

const api: SgaiApi = {
  fileInfo: (req) => ipcRenderer.invoke(channels.fileInfo, req),
  openDialog: () => ipcRenderer.invoke(channels.openDialog),
};
contextBridge.exposeInMainWorld('sgai', api);
