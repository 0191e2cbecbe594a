-- The report's HTML, as pandoc reads it, to Typst: what report.css says for screen is said here for
-- print. pandoc's Typst writer drops classes, so every element the report styles by class becomes a
-- call of a function defined in report.typ: the table, its source line, figures, the marked boxes and
-- passages in another language. Everything else (headings, paragraphs, lists, emphasis) is left to
-- pandoc's writer.

local function markup(blocks)
  local text = pandoc.write(pandoc.Pandoc(blocks), "typst")
  return (text:gsub("%s+$", ""))
end

local function content(blocks)
  return "[" .. markup(blocks) .. "]"
end

local function string_literal(text)
  return '"' .. text:gsub("\\", "\\\\"):gsub('"', '\\"'):gsub("\n", " ") .. '"'
end

local function has_class(attr, name)
  for _, class in ipairs(attr.classes) do
    if class == name then
      return true
    end
  end
  return false
end

local function raw(text)
  return pandoc.RawBlock("typst", text)
end

-- A column of numbers only (td.num/th.num) is as wide as its widest number or header word; a column of
-- text has the share the HTML gave it (col width), or is as wide as its content when the HTML gave none.
local function columns(tbl)
  local numeric = {}
  for i = 1, #tbl.colspecs do
    numeric[i] = true
  end
  local function visit(rows)
    for _, row in ipairs(rows) do
      for i, cell in ipairs(row.cells) do
        if not has_class(cell.attr, "num") and #cell.contents > 0 then
          numeric[i] = false
        end
      end
    end
  end
  for _, body in ipairs(tbl.bodies) do
    visit(body.body)
  end
  local out = {}
  for i, spec in ipairs(tbl.colspecs) do
    local width = spec[2]
    if numeric[i] then
      out[i] = "none" -- as wide as its widest number or header word (report.typ's fit)
    elseif type(width) == "number" then
      out[i] = string.format("%dfr", math.floor(width * 100 + 0.5))
    else
      out[i] = "auto"
    end
  end
  return "(" .. table.concat(out, ", ") .. ",)"
end

-- The longest word of each column (a code counts as one word, a number cell as a whole): report.typ
-- widens a column that would be narrower than it, so that nothing in a cell is broken inside.
local function widest(tbl)
  local best, length = {}, {}
  local function consider(i, text, make)
    local n = utf8.len(text) or #text
    if n > (length[i] or 0) then
      length[i], best[i] = n, make(text)
    end
  end
  local function visit(row, header)
    for i, cell in ipairs(row.cells) do
      local wrap = header and function(x) return "text(font: sans, weight: \"bold\", " .. x .. ")" end
        or function(x) return x end
      if has_class(cell.attr, "num") and not header then -- a number is not broken; a header wraps between words
        consider(i, pandoc.utils.stringify(cell.contents), function(t) return wrap(content({ pandoc.Plain({ pandoc.Str(t) }) })) end)
      else
        pandoc.walk_block(pandoc.Div(cell.contents), {
          Str = function(s)
            consider(i, s.text, function(t) return wrap(content({ pandoc.Plain({ pandoc.Str(t) }) })) end)
          end,
          Code = function(c)
            consider(i, c.text, function(t) return wrap("raw(" .. string_literal(t) .. ")") end)
          end,
        })
      end
    end
  end
  for _, row in ipairs(tbl.head.rows) do
    visit(row, true)
  end
  for _, body in ipairs(tbl.bodies) do
    for _, row in ipairs(body.body) do
      visit(row, false)
    end
  end
  local out = {}
  for i = 1, #tbl.colspecs do
    out[i] = best[i] or "[]"
  end
  return "(" .. table.concat(out, ", ") .. ",)"
end

local function cells(row)
  local out = {}
  for _, cell in ipairs(row.cells) do
    local align = has_class(cell.attr, "num") and "right" or "left"
    out[#out + 1] = string.format("table.cell(align: %s)%s", align, content(cell.contents))
  end
  return table.concat(out, ", ")
end

local function typst_table(tbl, source)
  local head = {}
  for _, row in ipairs(tbl.head.rows) do
    head[#head + 1] = cells(row)
  end
  local rows = {}
  for _, body in ipairs(tbl.bodies) do
    for _, row in ipairs(body.body) do
      rows[#rows + 1] = "  " .. cells(row) .. ","
    end
  end
  local caption = pandoc.utils.blocks_to_inlines(tbl.caption.long)
  return raw(table.concat({
    "#report-table(",
    "  caption: " .. content({ pandoc.Plain(caption) }) .. ",",
    "  source: " .. (source and content(source) or "none") .. ",",
    "  columns: " .. columns(tbl) .. ",",
    "  widest: " .. widest(tbl) .. ",",
    "  table.header(" .. table.concat(head, ", ") .. "),",
    table.concat(rows, "\n"),
    ")",
  }, "\n"))
end

-- An identifier may break only where the HTML marks it (a zero-width space after "_" or "."): pieces of
-- code with a break opportunity between them.
local ZWSP = "\u{200B}"

function Code(code)
  if not code.text:find(ZWSP, 1, true) then
    return nil
  end
  local out = {}
  for piece in (code.text .. ZWSP):gmatch("(.-)" .. ZWSP) do
    if piece ~= "" then
      if #out > 0 then
        out[#out + 1] = pandoc.RawInline("typst", "#sym.zws")
      end
      out[#out + 1] = pandoc.Code(piece)
    end
  end
  return out
end

local BOXES = { synthetic = true, draft = true, subtitle = true, study = true, source = true, ["data-note"] = true }

function Div(div)
  if has_class(div.attr, "table-block") then
    local tbl, after = nil, {}
    for _, block in ipairs(div.content) do
      if block.t == "Table" and not tbl then
        tbl = block
      elseif tbl then
        after[#after + 1] = block
      end
    end
    if tbl then
      local source = nil
      if #after > 0 then
        source = {}
        for _, block in ipairs(after) do
          if block.t == "Div" then
            for _, inner in ipairs(block.content) do
              source[#source + 1] = inner
            end
          else
            source[#source + 1] = block
          end
        end
      end
      return typst_table(tbl, source)
    end
  end
  for class, _ in pairs(BOXES) do
    if has_class(div.attr, class) then
      return raw("#marked(" .. string_literal(class) .. ", " .. content(div.content) .. ")")
    end
  end
  local lang = div.attr.attributes["lang"]
  if lang then
    local out = { raw("#text(lang: " .. string_literal(lang) .. ")[") }
    for _, block in ipairs(div.content) do
      out[#out + 1] = block
    end
    out[#out + 1] = raw("]")
    return out
  end
  if has_class(div.attr, "narrative") and div.attr.identifier == "" then
    return div.content
  end
  return nil
end

-- A figure is an image with its alt text and its caption (which carries its own number), or a
-- placeholder box where a figure could not be drawn.
function Figure(fig)
  local caption = content({ pandoc.Plain(pandoc.utils.blocks_to_inlines(fig.caption.long)) })
  local image = nil
  pandoc.walk_block(pandoc.Div(fig.content), {
    Image = function(img)
      image = image or img
    end,
  })
  if image then
    local alt = pandoc.utils.stringify(image.caption)
    return raw(string.format("#report-figure(%s, %s, %s)", string_literal(image.src), string_literal(alt), caption))
  end
  local alt = string_literal(pandoc.utils.stringify(fig.content))
  return raw(string.format("#report-placeholder(%s, %s, %s)", alt, content(fig.content), caption))
end

-- The reference list (after the heading with id "references"): hanging indent, no bullets.
function Blocks(blocks)
  local after_references = false
  for i, block in ipairs(blocks) do
    if block.t == "Header" then
      after_references = block.attr.identifier == "references"
    elseif after_references and block.t == "BulletList" then
      local items = {}
      for _, item in ipairs(block.content) do
        items[#items + 1] = content(item)
      end
      blocks[i] = raw("#reference-list(" .. table.concat(items, ", ") .. ")")
      after_references = false
    end
  end
  return blocks
end
