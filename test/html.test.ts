import { html, SafeHtml } from "../src/lib/html";

describe("the html template", () => {
  it("escapes every interpolated value, in text and in attributes", () => {
    const value = `<script>alert("x")</script> & 'quoted'`;
    expect(html`<p title="${value}">${value}</p>`.markup).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39;</p>',
    );
  });

  it("keeps nested templates as they are and joins lists", () => {
    const items = ["<a>", "b"].map((item) => html`<li>${item}</li>`);
    expect(html`<ul>${items}</ul>`.markup).toBe("<ul><li>&lt;a&gt;</li><li>b</li></ul>");
  });

  it("renders nothing for null, undefined and false, and numbers as they are (0 included)", () => {
    expect(html`[${null}${undefined}${false}${0}${12.5}]`.markup).toBe("[012.5]");
  });

  it("does not trust a plain string that looks like markup, only SafeHtml", () => {
    expect(html`${"<b>x</b>"}`.markup).toBe("&lt;b&gt;x&lt;/b&gt;");
    expect(html`${new SafeHtml("<b>x</b>")}`.markup).toBe("<b>x</b>");
    expect(String(html`<i>${"&"}</i>`)).toBe("<i>&amp;</i>");
  });
});
