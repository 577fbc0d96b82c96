/* The layout hosts share: the instructions sidebar (short-instructions) with its "View full
 * instructions" dialog (full-instructions), modal dialogs, and the two-column grid that puts the
 * sidebar next to the work (CL.layoutCss). */
(function (CL) {
  'use strict';
  if (CL.copies > 1) return; // a second copy of the bundle (00-core.js)

  // Give direct children whose tag is in `names` the slot of the same name, now and whenever
  // children are added (during parsing children arrive after connectedCallback).
  CL.slotRegions = function (host, names) {
    function assign() {
      for (var c = host.firstElementChild; c; c = c.nextElementSibling) {
        if (names.indexOf(c.localName) >= 0 && !c.hasAttribute('slot')) c.setAttribute('slot', c.localName);
      }
    }
    assign();
    new MutationObserver(assign).observe(host, { childList: true });
  };

  CL.INSTRUCTIONS_CSS = [
    '.instructions { background: #f6f8fa; border: 1px solid #d5dbdb; border-radius: 8px; padding: 12px 16px;',
    '  line-height: 1.45; overflow-wrap: anywhere; align-self: start; }',
    '.instructions h2 { font-size: 1rem; margin: 0 0 8px; }',
    '.instructions ::slotted(*) { display: block; }',
    '.full-link { margin-top: 8px; }',
    'dialog.awsui-modal-dialog { width: min(860px, calc(100vw - 24px)); max-height: calc(100vh - 48px);',
    '  border: none; border-radius: 10px; padding: 0; box-shadow: 0 8px 32px rgba(0,0,0,.3); }',
    'dialog::backdrop { background: rgba(0,0,0,.45); }',
    'dialog .dlg-head { display: flex; align-items: center; justify-content: space-between; gap: 12px;',
    '  padding: 12px 16px; border-bottom: 1px solid #d5dbdb; position: sticky; top: 0; background: #fff; }',
    'dialog .dlg-head h2 { font-size: 1.1rem; margin: 0; }',
    'dialog .dlg-body { padding: 12px 16px 20px; line-height: 1.5; overflow-wrap: anywhere; }',
    'dialog .dlg-body ::slotted(*) { display: block; }',
    '.close { border: none; background: none; font-size: 1.6rem; line-height: 1; cursor: pointer; padding: 2px 8px; border-radius: 6px; }',
    '.close:hover { background: #eef0f2; }'
  ].join('\n');


  // The two-column grid of a host: <div class="layout"><aside>instructions</aside><div class="main">
  // work</div></div>. The sidebar column is 200px to `asideMax` px wide (280 unless given); one
  // column when the sidebar is hidden or the viewport is at most `narrow` px wide (720 unless given).
  CL.layoutCss = function (options) {
    var asideMax = (options && options.asideMax) || 280;
    var narrow = (options && options.narrow) || 720;
    return [
      '.layout { display: grid; grid-template-columns: minmax(200px, ' + asideMax + 'px) minmax(0, 1fr); gap: 20px; align-items: start; }',
      '.layout:has(> aside[hidden]) { grid-template-columns: minmax(0, 1fr); }',
      '@media (max-width: ' + narrow + 'px) { .layout { grid-template-columns: minmax(0, 1fr); } }',
      '.main { min-width: 0; }'
    ].join('\n');
  };

  // A modal dialog with a title, a close button and a body; returns {dialog, title, body, open()}.
  CL.makeDialog = function (titleText, bodyNodes, extraClass) {
    var titleId = CL.uid('dlg-title');
    var title = CL.h('h2', { id: titleId, text: titleText });
    var closeBtn = CL.h('button', { type: 'button', class: 'close', 'aria-label': CL.t('close'), text: '\u00d7' });
    var body = CL.h('div', { class: 'dlg-body' }, bodyNodes);
    var dialog = CL.h('dialog', { class: 'awsui-modal-dialog' + (extraClass ? ' ' + extraClass : ''), 'aria-labelledby': titleId },
      [CL.h('div', { class: 'dlg-head' }, [title, closeBtn]), body]);
    closeBtn.addEventListener('click', function () { dialog.close(); });
    dialog.addEventListener('click', function (ev) { if (ev.target === dialog) dialog.close(); }); // backdrop
    return {
      dialog: dialog, title: title, body: body,
      open: function () { if (!dialog.open) dialog.showModal(); closeBtn.focus(); }
    };
  };

  // Sidebar (short-instructions) + "View full instructions" modal (full-instructions) for a host
  // whose direct region children were slotted with CL.slotRegions. Returns {aside, dialog}.
  CL.instructionsPanel = function (host) {
    var shortSlot = CL.h('slot', { name: 'short-instructions' });
    var fullSlot = CL.h('slot', { name: 'full-instructions' });
    var heading = CL.h('h2', { text: CL.t('instructions') });
    var dlg = CL.makeDialog(CL.t('instructions.full'), [fullSlot]);
    var fullBtn = CL.h('button', { type: 'button', class: 'linkbtn full-link', text: CL.t('instructions.view_full'), hidden: true });
    fullBtn.addEventListener('click', dlg.open);
    var aside = CL.h('aside', { class: 'instructions awsui-app-layout__navigation', part: 'instructions', hidden: true },
      [heading, shortSlot, fullBtn]);
    function update() {
      var shorts = shortSlot.assignedElements();
      var fulls = fullSlot.assignedElements();
      aside.hidden = shorts.length === 0 && fulls.length === 0;
      fullBtn.hidden = fulls.length === 0;
      var sh = shorts.length && shorts[0].getAttribute('header');
      heading.textContent = sh || CL.t('instructions');
      var fh = fulls.length && fulls[0].getAttribute('header');
      dlg.title.textContent = fh || CL.t('instructions.full');
      aside.setAttribute('aria-label', heading.textContent);
    }
    shortSlot.addEventListener('slotchange', update);
    fullSlot.addEventListener('slotchange', update);
    update();
    return { aside: aside, dialog: dlg.dialog, openFull: dlg.open, update: update };
  };
})(window.CrowdLoop);
