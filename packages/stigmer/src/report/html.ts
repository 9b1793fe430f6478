import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatSize as mb } from '../utils/progress';
import { ReportComparison, signedSize as signed } from './compare';
import type { BinaryReport } from './types';

let d3HierarchySource: string | undefined;

/**
 * d3-hierarchy's UMD build (about 15 kB, no dependencies), inlined into every page: its squarified treemap
 * layout is all the page needs, the drawing is plain SVG, and the page needs no network.
 */
function d3Hierarchy(): string {
  // The package's exports point at its .mjs; the UMD file sits beside it.
  d3HierarchySource ??= fs.readFileSync(path.join(path.dirname(require.resolve('d3-hierarchy')), 'd3-hierarchy.min.js'), 'utf8');
  return d3HierarchySource;
}

/** JSON that is safe inside a <script> element. */
function scriptJson(data: unknown): string {
  return JSON.stringify(data).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const STYLE = `
body{font:14px system-ui,sans-serif;margin:16px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 4px} .sub{color:#666;margin-bottom:10px}
.totals{display:flex;gap:24px;margin:8px 0 12px;flex-wrap:wrap} .totals div b{display:block;font-size:18px}
#treemap{display:block;border:1px solid #ccc;background:#fafafa} #treemap g{cursor:pointer}
#treemap rect{stroke:#fff;stroke-width:1} #treemap g.selected rect{stroke:#000;stroke-width:3}
#treemap text{font-size:12px;pointer-events:none;fill:#111}
table{border-collapse:collapse;margin-top:12px;min-width:640px} th,td{padding:3px 10px;text-align:left;border-bottom:1px solid #eee}
th{cursor:pointer;background:#f3f3f3;user-select:none} td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tr.pkg{cursor:pointer} tr.pkg:hover{background:#f7f7ff} .legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
.new{color:#0a7d22} .gone{color:#b00020} .grew{color:#b35c00} .shrank{color:#1d5fb3}
`;

const REPORT_SCRIPT = `
(function(){
var report = JSON.parse(document.getElementById('report-data').textContent);
var colors = {runtime:'#8da0cb',distribution:'#66c2a5',npm:'#66c2a5','go-module':'#66c2a5',service:'#fc8d62',system:'#e78ac3',asset:'#a6d854'};
function size(b){return b>=1048576?(b/1048576).toFixed(1)+' MB':(b/1024).toFixed(1)+' KB';}
function el(tag, attrs, text){var e=document.createElementNS(/^(svg|g|rect|text|title)$/.test(tag)?'http://www.w3.org/2000/svg':'http://www.w3.org/1999/xhtml',tag);for(var k in attrs||{})e.setAttribute(k,attrs[k]);if(text!==undefined)e.textContent=text;return e;}
var svg=document.getElementById('treemap'), W=+svg.getAttribute('width'), H=+svg.getAttribute('height');
var packages=report.packages.filter(function(p){return p.size>0;});
var root=d3.hierarchy({children:packages.map(function(p){return {pkg:p};})}).sum(function(d){return d.pkg?d.pkg.size:0;}).sort(function(a,b){return b.value-a.value;});
d3.treemap().tile(d3.treemapSquarify).size([W,H]).paddingInner(1).round(true)(root);
var groups={};
root.leaves().forEach(function(leaf){
  var p=leaf.data.pkg, w=leaf.x1-leaf.x0, h=leaf.y1-leaf.y0;
  var g=el('g',{'data-package':p.name,'class':'pkg'});
  g.appendChild(el('rect',{x:leaf.x0,y:leaf.y0,width:Math.max(w,0),height:Math.max(h,0),fill:colors[p.kind]||'#ccc','data-package':p.name}));
  g.appendChild(el('title',{},p.name+': '+size(p.size)));
  if(w>46&&h>16){var t=el('text',{x:leaf.x0+4,y:leaf.y0+14},p.name);g.appendChild(t);if(h>32)g.appendChild(el('text',{x:leaf.x0+4,y:leaf.y0+28},size(p.size)));}
  g.addEventListener('click',function(){select(p.name);});
  groups[p.name]=g; svg.appendChild(g);
});
function select(name){
  var p=report.packages.filter(function(x){return x.name===name;})[0]; if(!p)return;
  Object.keys(groups).forEach(function(k){groups[k].setAttribute('class',k===name?'pkg selected':'pkg');});
  document.getElementById('files-title').textContent=p.name+(p.version?' '+p.version:'')+': '+p.files.length+' file'+(p.files.length===1?'':'s')+', '+size(p.size)+' in the binary, '+size(p.uncompressedSize)+' unpacked';
  var body=document.getElementById('files-body'); body.textContent='';
  p.files.slice(0,1000).forEach(function(f){var tr=el('tr');tr.appendChild(el('td',{},f.path));tr.appendChild(el('td',{},f.kind));tr.appendChild(el('td',{'class':'n'},size(f.size)));tr.appendChild(el('td',{'class':'n'},size(f.uncompressedSize===undefined?f.size:f.uncompressedSize)));body.appendChild(tr);});
  if(p.files.length>1000){var more=el('tr');more.appendChild(el('td',{colspan:4},'... and '+(p.files.length-1000)+' smaller files (all of them are in the .report.json)'));body.appendChild(more);}
  document.getElementById('files').hidden=false;
}
var columns=[['name',function(p){return p.name;}],['kind',function(p){return p.kind;}],['version',function(p){return p.version||'';}],['size',function(p){return p.size;}],['unpacked',function(p){return p.uncompressedSize;}],['files',function(p){return p.files.length;}],['share',function(p){return p.size;}]];
var sortBy=3, descending=true;
function renderTable(){
  var rows=report.packages.slice().sort(function(a,b){var x=columns[sortBy][1](a),y=columns[sortBy][1](b);var c=typeof x==='number'?x-y:String(x).localeCompare(String(y));return descending?-c:c;});
  var body=document.getElementById('packages-body'); body.textContent='';
  rows.forEach(function(p){var tr=el('tr',{'class':'pkg','data-package':p.name});
    [p.name,p.kind,p.version||'',size(p.size),size(p.uncompressedSize),String(p.files.length),(100*p.size/report.measuredSize).toFixed(1)+' %'].forEach(function(v,i){tr.appendChild(el('td',i>=3?{'class':'n'}:{},v));});
    tr.addEventListener('click',function(){select(p.name);}); body.appendChild(tr);});
}
Array.prototype.forEach.call(document.querySelectorAll('#packages th'),function(th,i){th.addEventListener('click',function(){descending=sortBy===i?!descending:i>=3;sortBy=i;renderTable();});});
renderTable();
})();
`;

/** The report as one self-contained page: totals, a treemap by package (click: its files), a sortable table. */
export function renderReportHtml(report: BinaryReport): string {
  const title = `${report.name} ${report.version}: what is inside`;
  const legend = [['runtime', '#8da0cb'], ['dependency', '#66c2a5'], ['service', '#fc8d62'], ['system library', '#e78ac3'], ['asset', '#a6d854']]
    .map(([label, color]) => `<span style="background:${color}"></span>${label}`)
    .join('');
  const basis = report.measuredSize === report.fileSize ? '' : ` (sizes are of ${escapeHtml(report.basis)}: ${mb(report.measuredSize)})`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<div class="sub">${escapeHtml(report.binary)} · ${escapeHtml(report.runtime)} · ${escapeHtml(report.os)}-${escapeHtml(report.arch)} · ${escapeHtml(report.layout)} · ${escapeHtml(report.builtBy)}${basis}</div>
<div class="totals">
<div><b id="total-size">${mb(report.fileSize)}</b>binary</div>
<div><b>${mb(report.itemsSize)}</b>in ${report.packages.length} packages</div>
<div><b>${mb(report.overhead.size)}</b>overhead: ${escapeHtml(report.overhead.description)}</div>
</div>
<div class="legend">${legend}</div>
<svg id="treemap" width="1160" height="520" role="img" aria-label="treemap of the packages by size"></svg>
<section id="files" hidden><h2 id="files-title" style="font-size:16px"></h2>
<table><thead><tr><th>file</th><th>kind</th><th class="n">in binary</th><th class="n">unpacked</th></tr></thead><tbody id="files-body"></tbody></table></section>
<h2 style="font-size:16px">Packages</h2>
<table id="packages"><thead><tr><th>package</th><th>kind</th><th>version</th><th class="n">size ▾</th><th class="n">unpacked</th><th class="n">files</th><th class="n">share</th></tr></thead><tbody id="packages-body"></tbody></table>
<script id="report-data" type="application/json">${scriptJson(report)}</script>
<script>${d3Hierarchy()}</script>
<script>${REPORT_SCRIPT}</script>
</body></html>
`;
}

/** The comparison of two reports as one page: the same rows as the terminal table, with each package's changed files. */
export function renderComparisonHtml(comparison: ReportComparison): string {
  const { before, after } = comparison;
  const title = `${after.name}: ${before.version} → ${after.version}, ${signed(comparison.delta)}`;
  const rows = comparison.changes
    .map((c) => {
      const files = c.files.map((f) => `<div class="file">${escapeHtml(f.path)}: ${signed(f.delta)}</div>`).join('');
      return `<tr class="${c.status}" data-package="${escapeHtml(c.name)}"><td>${escapeHtml(c.name)}${files ? `<details><summary>files</summary>${files}</details>` : ''}</td><td class="n">${signed(c.delta)}</td><td class="n">${c.before ? mb(c.before) : '-'}</td><td class="n">${c.after ? mb(c.after) : '-'}</td><td>${c.status}</td></tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<div class="sub">before: ${escapeHtml(before.source)} (${mb(before.size)}) · after: ${escapeHtml(after.source)} (${mb(after.size)})</div>
<table id="changes"><thead><tr><th>package</th><th class="n">change</th><th class="n">before</th><th class="n">after</th><th></th></tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>
`;
}
