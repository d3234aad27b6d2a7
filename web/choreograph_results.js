// Shows the text results of Choreograph's output nodes (metrics tables, QA verdicts, saved paths) on the node.
// Videos and the identity-QA card need no code here: they are returned the way native SaveVideo / SaveImage
// return theirs ("images" + "animated"), which the stock frontend already previews.
import { app } from "../../scripts/app.js";

const WIDGET_NAME = "choreograph_result";

function showText(node, lines) {
  const text = lines.map(String).join("\n");
  let widget = node.widgets?.find((w) => w.name === WIDGET_NAME);
  if (!widget) {
    const area = document.createElement("textarea");
    area.readOnly = true;
    area.className = "comfy-multiline-input choreograph-result";
    area.style.fontFamily = "monospace";
    area.style.fontSize = "11px";
    area.style.whiteSpace = "pre";
    area.style.minHeight = "80px";
    widget = node.addDOMWidget(WIDGET_NAME, "choreograph_text", area, {
      getValue: () => area.value,
      setValue: (value) => { area.value = value ?? ""; },
      serialize: false,
    });
    widget.serialize = false;
  }
  widget.element.value = text;
  widget.element.title = text;
  node.setDirtyCanvas?.(true, true);
}

app.registerExtension({
  name: "Choreograph.Results",
  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (!nodeData?.name?.startsWith("Choreo") || !nodeData.output_node) {
      return;
    }
    const onExecuted = nodeType.prototype.onExecuted;
    nodeType.prototype.onExecuted = function (output) {
      onExecuted?.apply(this, arguments);
      if (Array.isArray(output?.text) && output.text.length) {
        showText(this, output.text);
      }
    };
  },
});
