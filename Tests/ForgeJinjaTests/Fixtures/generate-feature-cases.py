#!/usr/bin/env python3
"""Renders small templates, one per Jinja feature, with Python jinja2 set up as Hugging Face does
(ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, tojson = json.dumps(ensure_ascii=False),
raise_exception, strftime_now fixed at 2026-11-21 12:00) and writes feature-cases.json next to this file.

Usage: python3 generate-feature-cases.py   (needs jinja2 3.1)
"""
import datetime
import json
import os

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

CASES = [
    # name, template, context
    ("text only", "Hello\n", {}),
    ("keep inner newlines", "a\n\nb\n\n", {}),
    ("crlf normalized", "a\r\nb\rc", {}),
    ("variable", "{{ name }}!", {"name": "Ada"}),
    ("undefined prints empty", "[{{ missing }}]", {}),
    ("undefined attribute of dict prints empty", "[{{ d.nope }}]", {"d": {}}),
    ("none true false", "{{ none }} {{ None }} {{ true }} {{ True }} {{ false }}", {}),
    ("json null prints None", "{{ x }}", {"x": None}),
    ("int and float printing", "{{ 1 }} {{ 1.0 }} {{ 2.5 }} {{ 1e20 }} {{ 1e-5 }} {{ 10 / 4 }} {{ 10 / 5 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7.5 % 2 }} {{ 2 ** 10 }} {{ 2 ** -1 }}", {}),
    ("json floats keep their type", "{{ a }} {{ b }} {{ a + b }}", {"a": 1.0, "b": 2}),
    ("list repr", "{{ [1, 'a', \"b'c\", None, True, 1.5, [2], {'k': 'v'}] }}", {}),
    ("tuple repr", "{{ (1, 'a') }} {{ (1,) }} {{ () }}", {}),
    ("dict repr from json", "{{ d }}", {"d": {"b": 1, "a": [True, None, "x\ny"]}}),
    ("string repr escapes", "{{ ['tab\there', 'nl\n', 'back\\\\slash', 'é', '\u00a0', '\u200b'] }}", {}),
    ("string escapes in literals", "{{ 'a\\tb\\n\\u00e9\\x41\\\\ \\d' }}", {}),
    ("adjacent string literals", "{{ 'a' \"b\" 'c' }}", {}),
    ("concat tilde", "{{ 1 ~ 'a' ~ none ~ missing ~ [1] }}", {}),
    ("plus strings and lists", "{{ 'a' + 'b' }} {{ [1] + [2, 3] }}", {}),
    ("string multiply", "{{ 'ab' * 3 }} {{ [0] * 2 }}", {}),
    ("truthiness", "{% for v in [0, 1, '', 'a', [], [0], {}, none, 0.0] %}{{ 'T' if v else 'F' }}{% endfor %}", {}),
    ("and or return operands", "{{ 0 or 'x' }} {{ 'a' and 'b' }} {{ '' and 'b' }} {{ none or none }}", {}),
    ("not precedence", "{{ not 1 == 2 }} {{ not x is defined }}", {}),
    ("comparisons", "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'a' < 'b' }} {{ 1 == 1.0 }} {{ true == 1 }} {{ [1, 2] < [1, 3] }} {{ 'a' != 'a' }}", {}),
    ("in operator", "{{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 'z' not in 'abc' }} {{ 'x' in missing }}", {}),
    ("conditional expression", "{{ 'yes' if x else 'no' }}{{ 'only' if false }}|", {"x": 1}),
    ("filter binds tighter than plus", "{{ 'a' + '  b  ' | trim + 'c' }} {{ items | length - 1 }}", {"items": [1, 2, 3]}),
    ("negative numbers", "{{ -3 }} {{ -x }} {{ - 2.5 }}", {"x": 4}),
    ("subscripts", "{{ l[0] }} {{ l[-1] }} {{ d['k'] }} {{ d.k }} {{ l.1 }} [{{ l[10] }}]", {"l": ["a", "b", "c"], "d": {"k": "v"}}),
    ("slices", "{{ l[1:] }} {{ l[:-1] }} {{ l[::-1] }} {{ l[::2] }} {{ l[-2:] }} {{ l[5:] }} {{ s[1:3] }} {{ s[::-1] }} {{ l[3:0:-1] }}", {"l": [0, 1, 2, 3, 4], "s": "héllo"}),
    ("string index by code point", "{{ s[1] }}{{ s[-1] }}", {"s": "日本語🙂"}),
    ("if elif else", "{% for x in [1, 2, 3] %}{% if x == 1 %}one{% elif x == 2 %}two{% else %}many{% endif %} {% endfor %}", {}),
    ("for loop object", "{% for x in 'abc' %}{{ loop.index0 }}{{ loop.index }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}", {}),
    ("loop previtem nextitem cycle", "{% for x in [1, 2, 3] %}{{ loop.previtem }}-{{ loop.nextitem }}-{{ loop.cycle('a', 'b') }} {% endfor %}", {}),
    ("nested loop depth", "{% for a in [1, 2] %}{% for b in [3] %}{{ loop.depth }}{{ a }}{{ b }}{% endfor %}{{ loop.depth }}{% endfor %}", {}),
    ("for else", "{% for x in [] %}x{% else %}empty{% endfor %}", {}),
    ("for over dict and items", "{% for k in d %}{{ k }}{% endfor %} {% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %} {% for k, v in d | items %}{{ k }}{{ v }}{% endfor %}", {"d": {"z": 1, "a": 2}}),
    ("for with filter condition", "{% for x in range(10) if x is odd %}{{ x }}{{ loop.length }},{% endfor %}", {}),
    ("for over undefined is empty", "[{% for x in missing %}{{ x }}{% endfor %}]", {}),
    ("break and continue", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %}", {}),
    ("set in loop does not leak", "{% set x = 5 %}{% for i in [1, 2] %}[{{ x }}]{% set x = i %}{% endfor %}{{ x }}", {}),
    ("set in if leaks", "{% if true %}{% set x = 'in' %}{% endif %}{{ x }}", {}),
    ("set tuple unpack", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t = 1, 2 %}{{ t }}", {}),
    ("set block", "{% set block %}Hi {{ name }}{% endset %}[{{ block }}]{% set up | upper %}shout{% endset %}{{ up }}", {"name": "Bo"}),
    ("namespace", "{% set ns = namespace(count=0, seen=false) %}{% for x in [1, 2, 3] %}{% set ns.count = ns.count + x %}{% endfor %}{{ ns.count }} {{ ns.seen }}", {}),
    ("namespace from dict", "{% set ns = namespace({'a': 1}) %}{{ ns.a }}", {}),
    ("macro defaults and keywords", "{% macro tag(name, cls='x', n=1) %}<{{ name }} {{ cls }} {{ n }}>{% endmacro %}{{ tag('a') }}{{ tag('b', n=3) }}{{ tag('c', 'y', 2) }}", {}),
    ("macro sees template variables", "{% set greeting = 'hi' %}{% macro say(who) %}{{ greeting }} {{ who }}{% endmacro %}{{ say('you') }}", {}),
    ("macro recursion", "{% macro count(n) %}{{ n }}{% if n > 0 %}{{ count(n - 1) }}{% endif %}{% endmacro %}{{ count(3) }}", {}),
    ("with block", "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]", {}),
    ("filter block", "{% filter upper %}shout {{ 'it' }}{% endfilter %}", {}),
    ("raw block", "{% raw %}{{ not evaluated }}{% endraw %}", {}),
    ("comments", "a{# comment #}b{#- trimmed -#}  c", {}),
    ("whitespace minus", "a  {{- 'b' -}}  c {%- if true -%}  d  {%- endif -%}  e", {}),
    ("trim blocks", "{% if true %}\nline\n{% endif %}\nafter", {}),
    ("lstrip blocks", "  {% if true %}\n    x\n  {% endif %}\n", {}),
    ("lstrip not after text", "a  {% if true %}b{% endif %}", {}),
    ("plus disables lstrip and trim", "  {%+ if true +%}\nx{% endif %}", {}),
    ("variable tags are not lstripped", "  {{ 'x' }}\n  {{ 'y' }}\n", {}),
    ("comment lstrip and trim", "a\n  {# c #}\nb", {}),
    ("trailing newline removed once", "x\n\n", {}),
    ("is tests", "{{ x is defined }}{{ y is defined }}{{ y is undefined }}{{ n is none }}{{ s is string }}{{ 1 is number }}{{ 1.5 is number }}{{ true is number }}{{ d is mapping }}{{ l is mapping }}{{ s is iterable }}{{ l is iterable }}{{ 1 is iterable }}{{ l is sequence }}{{ 1 is integer }}{{ 1.0 is float }}{{ true is boolean }}", {"x": 1, "n": None, "s": "a", "d": {}, "l": []}),
    ("is true false and not", "{{ x is false }}{{ x is true }}{{ x is not none }}{{ 3 is odd }}{{ 4 is even }}{{ 9 is divisibleby 3 }}{{ 9 is divisibleby(4) }}{{ 'a' is eq 'a' }}{{ 1 is lt 2 }}{{ 2 is in [1, 2] }}{{ 'ab' is lower }}{{ none is sameas none }}", {"x": False}),
    ("filters text", "{{ '  hi  ' | trim }}|{{ 'xxhixx' | trim('x') }}|{{ 'ab' | upper }}|{{ 'AB' | lower }}|{{ 'hello world' | title }}|{{ 'hELLO' | capitalize }}|{{ 'aaa' | replace('a', 'b', 2) }}|{{ 'abc' | reverse }}|{{ 42 | string }}|{{ 'a b  c' | wordcount }}", {}),
    ("filter default", "{{ missing | default('d') }} {{ '' | default('d') }} {{ '' | default('d', true) }} {{ none | default('d') }} {{ x | d('y') }}", {"x": 0}),
    ("filter length count", "{{ 'héllo' | length }} {{ [1, 2] | length }} {{ {'a': 1} | length }} {{ missing | length }} {{ [1] | count }}", {}),
    ("filter first last join", "{{ l | first }} {{ l | last }} {{ l | join(', ') }} {{ l | join }} {{ 'abc' | first }} {{ users | join(', ', attribute='name') }}", {"l": [1, 2, 3], "users": [{"name": "a"}, {"name": "b"}]}),
    ("filter list items", "{{ 'ab' | list }} {{ {'a': 1} | items | list }} {{ missing | items | list }}", {}),
    ("filter selectattr map", "{{ msgs | selectattr('role', 'equalto', 'user') | map(attribute='content') | join(',') }} {{ msgs | rejectattr('role', 'eq', 'user') | list | length }} {{ msgs | selectattr('flag') | map(attribute='role') | list }}", {"msgs": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "flag": True}, {"role": "user", "content": "c"}]}),
    ("filter select reject map filter", "{{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 2, 3, 4] | reject('odd') | list }} {{ ['a', 'b'] | map('upper') | list }} {{ [0, 1, ''] | select | list }}", {}),
    ("filter map default", "{{ l | map(attribute='x', default='?') | list }}", {"l": [{"x": 1}, {}]}),
    ("markup-free macro concatenation", "{% macro m() %}<b>{% endmacro %}{{ m() + '<i>' }}", {}),
    ("trim on none and numbers", "[{{ none | trim }}][{{ 5 | trim }}]", {}),
    ("list index past end is undefined", "[{{ l[5] }}]{{ l[5] is defined }}", {"l": [1]}),
    ("error attribute of missing list element", "{{ l[0]['role'] }}", {"l": []}),
    ("error attribute of none is undefined then used", "{{ x.y + 1 }}", {"x": None}),
    ("lstrip with tabs and trim with -", "\t {% if true -%}   \n x{%- endif %}\n", {}),
    ("comment between tags", "{% for x in [1, 2] %}\n  {# note #}\n  {{ x }}\n{% endfor %}\n", {}),
    ("raw with whitespace control", "a  {%- raw -%}  {{ x }}  {%- endraw -%}  b", {}),
    ("generators are always truthy", "{{ 'T' if [] | select else 'F' }}{{ 'T' if m | selectattr('role', 'eq', 'x') else 'F' }}{{ 'T' if [] | reverse else 'F' }}{{ 'T' if {} | items else 'F' }}", {"m": [{"role": "user"}]}),
    ("generators are consumed once", "{% set users = m | selectattr('role', 'eq', 'user') %}{% for u in users %}a{% endfor %}{% for u in users %}b{% endfor %}{% set names = m | map(attribute='role') %}{{ names | join(',') }}|{{ names | join(',') }}", {"m": [{"role": "user"}, {"role": "user"}]}),
    ("generator as list", "{{ m | map(attribute='role') | list }} {{ [1, 2] | reverse | list }} {{ 'abc' | reverse }} {{ {'a': 1, 'b': 2} | reverse | list }}", {"m": [{"role": "user"}]}),
    ("error length of generator", "{{ [1] | select | length }}", {}),
    ("error last of generator", "{{ [1] | select | last }}", {}),
    ("error tojson of generator", "{{ [1] | select | tojson }}", {}),
    ("undefined int filter fails", "{{ missing | int }}", {}),
    ("float modulo sign and percent with list", "{{ -3 % 0.5 }} {{ 3 % -0.5 }} {{ 'x' % [1] }} {{ '%s' % [1] }}", {}),
    ("odd and even on floats and bools", "{{ 2.5 is odd }}{{ 3.0 is odd }}{{ true is odd }}{{ 4.0 is even }}", {}),
    ("lower and upper tests on non strings", "{{ [1] is lower }}{{ none is upper }}{{ 'ABC' is upper }}", {}),
    ("round bool", "{{ false | round }} {{ 2 | round }} {{ 0.125 | round(2) }} {{ 2.675 | round(2) }}", {}),
    ("syntax chained is", "{{ x is defined is none }}", {}),
    ("filter numeric", "{{ -3 | abs }} {{ '42' | int }} {{ '4.7' | int }} {{ 'x' | int(7) }} {{ 3 | float }} {{ '2.5' | float }} {{ 2.5 | round }} {{ 3.14159 | round(2) }} {{ 2.1 | round(0, 'ceil') }} {{ [3, 1, 2] | sum }} {{ [3, 1, 2] | max }} {{ [3, 1, 2] | min }}", {}),
    ("filter sort unique dictsort", "{{ [3, 1, 2] | sort }} {{ ['b', 'A', 'c'] | sort }} {{ [3, 1, 2] | sort(reverse=true) }} {{ users | sort(attribute='age') | map(attribute='n') | list }} {{ ['a', 'A', 'b'] | unique | list }} {{ {'b': 1, 'a': 2} | dictsort }}", {"users": [{"n": "x", "age": 3}, {"n": "y", "age": 1}]}),
    ("filter indent", "{{ 'a\nb\n\nc' | indent(2) }}|{{ 'a\nb' | indent(2, true) }}", {}),
    ("filter attr and format", "{{ d | attr('k') }} {{ '%s-%03d' | format('a', 7) }}", {"d": {"k": "v"}}),
    ("filter escape and safe", "{{ '<a href=\"x\">&\\'' | e }} {{ '<b>' | safe }}", {}),
    ("tojson basics", "{{ x | tojson }}", {"x": {"s": "é 日本 🙂 \"q\" \\ \n\t\u0001\u007f\u2028", "i": 1, "f": 1.0, "g": 0.1, "big": 1e100, "neg": -2.5e-7, "t": True, "n": None, "l": [], "o": {}}}),
    ("tojson indent", "{{ x | tojson(indent=2) }}", {"x": {"a": [1, {"b": []}, {}], "c": "d", "e": [[]]}}),
    ("tojson first positional is ensure_ascii", "{{ x | tojson(true) }}", {"x": ["é🙂\u007f", 1]}),
    ("tojson separators and sort_keys", "{{ x | tojson(separators=(',', ':'), sort_keys=true) }} {{ x | tojson(indent=1, separators=(';', '=')) }}", {"x": {"b": [1, 2], "a": None}}),
    ("nested braces inside a tag", "{{ {'a': {'b': 1}} }}{% set d = {'x': {'y': 2}} %}{{ d.x.y }}", {}),
    ("tojson key order kept", "{{ x | tojson }}", {"x": {"z": 1, "a": 2, "m": {"y": 1, "b": 2}}}),
    ("tojson of template values", "{{ {'a': [1, 2.0, none, true]} | tojson }} {{ (1, 2) | tojson }} {{ 'str' | tojson }} {{ 3 | tojson }}", {}),
    ("string methods", "{{ s.startswith('He') }}{{ s.endswith('!') }}{{ s.startswith(('x', 'H')) }} {{ s.split(' ') }} {{ '  a  b '.split() }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ s.upper() }} {{ s.lower() }} {{ 'xxaxx'.strip('x') }} {{ '  a '.lstrip() }}| {{ ' a  '.rstrip() }}| {{ s.replace('l', 'L') }} {{ s.find('o') }} {{ s.count('l') }} {{ '-'.join(['a', 'b']) }} {{ 'abc'.title() }} {{ '12'.isdigit() }}", {"s": "Hello world!"}),
    ("string format method", "{{ '{} and {}'.format('a', 'b') }} {{ '{0}{0}'.format('x') }} {{ '{name}!'.format(name='n') }} {{ '{:>4}|{:<3}|{:^5}|{:.2f}|{:03d}'.format('a', 'b', 'c', 3.14159, 7) }} {{ '{{literal}}'.format() }}", {}),
    ("percent formatting", "{{ '%s is %d years' % ('Ann', 30) }} {{ '%.2f' % 3.14159 }} {{ '%5s|%-5s|' % ('a', 'b') }} {{ '%x %o %%' % (255, 8) }} {{ '%(a)s' % {'a': 1} }} {{ '%r' % 'q' }}", {}),
    ("dict methods", "{{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 'dflt') }} {{ d.keys() | list }} {{ d.values() | list }} {{ d.items() | list }}", {"d": {"a": 1, "b": 2}}),
    ("dict method attribute wins over key", "{{ d.items is defined }} {{ d['items'] }}", {"d": {"items": 3}}),
    ("list methods", "{{ l.index(2) }} {{ l.count(1) }}", {"l": [1, 2, 1]}),
    ("mutating methods are unsafe", "[{{ l.append }}]", {"l": [1]}),
    ("dict literal", "{{ {'a': 1, 'b': [2]}['b'][0] }} {{ {'x': 1}.x }}", {}),
    ("range", "{{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ range(5, 0, -2) | list }}", {}),
    ("dict global", "{{ dict(a=1, b='x') }}", {}),
    ("strftime_now", "{{ strftime_now('%Y-%m-%d %H:%M:%S') }} {{ strftime_now('%d %b %Y') }} {{ strftime_now('%A %B %-d %j %I%p %y') }}", {}),
    ("in with message dict", "{% for m in msgs %}{{ 'tool_calls' in m }}{% endfor %}", {"msgs": [{"role": "a"}, {"role": "b", "tool_calls": []}]}),
    ("message content parts", "{% for m in msgs %}{% if m.content is string %}{{ m.content }}{% else %}{% for p in m.content %}[{{ p.type }}:{{ p.text }}]{% endfor %}{% endif %}{% endfor %}", {"msgs": [{"content": "plain"}, {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]}),
    ("equality of dicts", "{{ a == b }} {{ a == c }} {{ [a] == [b] }}", {"a": {"x": 1, "y": [1]}, "b": {"y": [1], "x": 1}, "c": {"x": 2}}),
    ("undefined equality", "{{ missing == missing2 }} {{ missing == none }} {{ missing != 1 }}", {}),
    ("string comparison by code point", "{{ 'Z' < 'a' }} {{ 'é' > 'z' }}", {}),
    ("whitespace control mixed", "{%- for x in [1, 2] -%}\n  {{ x }}\n{%- endfor %}\n", {}),
    ("generation tag", "{% generation %}kept{% endgeneration %}", {}),
    ("unicode passthrough", "{{ s }}|{{ s | upper }}|{{ s | length }}", {"s": "straße ǅ ﬁ 🙂"}),
    ("loop variable after loop", "{% for x in [1] %}{% endfor %}[{{ x }}][{{ loop }}]", {}),
    # errors
    ("error raise_exception", "line1\n{{ raise_exception('custom failure') }}", {}),
    ("error attribute of undefined", "{{ missing.attr }}", {}),
    ("error add string and int", "{{ 'a' + 1 }}", {}),
    ("error add undefined", "{{ d.nope + 'x' }}", {"d": {}}),
    ("error integer division by zero", "{{ 1 // 0 }}", {}),
    ("error not iterable", "{% for x in 3 %}{% endfor %}", {}),
    ("error call undefined", "{{ nope() }}", {}),
    ("error tojson undefined", "{{ missing | tojson }}", {}),
    ("error compare string int", "{{ 'a' < 1 }}", {}),
    ("error length of int", "{{ 3 | length }}", {}),
    ("error set attribute on dict", "{% set d = {} %}{% set d.x = 1 %}", {}),
    ("syntax unknown filter", "{{ x | nosuchfilter }}", {}),
    ("syntax unknown tag", "{% frobnicate %}", {}),
    ("syntax unclosed if", "{% if true %}\nabc", {}),
    ("syntax unclosed variable", "a {{ x ", {}),
    ("syntax unterminated string", "{{ 'abc }}", {}),
    ("syntax bad expression", "{{ 1 + }}", {}),
    ("syntax break outside loop", "{% break %}", {}),
    ("syntax endfor without for", "{% endfor %}", {}),
    ("syntax unknown test", "{{ x is frob }}", {}),
]


def main():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    # Hugging Face's definition (transformers.utils.chat_template_utils).
    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.datetime(2026, 11, 21, 12, 0).strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now

    # Hugging Face's AssistantTracker adds {% generation %}; rendering-wise it is transparent.
    class Generation(jinja2.ext.Extension):
        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return jinja2.nodes.Scope(body, lineno=lineno)

    env.add_extension(Generation)

    out = []
    for name, source, context in CASES:
        case = {"name": name, "template": source, "context": context}
        try:
            case["expected"] = env.from_string(source).render(**context)
            case["error"] = None
        except Exception as error:  # the template's own failure is the expected result
            case["expected"] = None
            case["error"] = f"{type(error).__name__}: {error}"
        out.append(case)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "feature-cases.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"generator": f"python jinja2 {jinja2.__version__}, see generate-feature-cases.py", "cases": out}, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
