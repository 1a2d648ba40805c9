/**
 * Answers the scripted model gives in the Markdown tests and screenshots: everything chat
 * models write (a table, a quote, strikethrough, `_italic_`, nested and tight lists, a list
 * right under a paragraph, inline and display math in both notations, highlighted code).
 */

export const CORPUS_EN = `## Comparing the models

Here is a quick overview, with **bold**, _italic_, ~~old prices~~ and \`inline code\`.

| Model | Context | Price / 1M tokens |
|:------|:-------:|------------------:|
| slow-bot | 8k | $0.50 |
| thinker | 128k | $3.00 |

> Prices change often: check the admin console before you quote them.

Steps to pick one:
1. Estimate the prompt size
   - short chats: \`slow-bot\`
   - long documents: \`thinker\`
2. Try both on the same question

- tight
- list

The energy is $E = mc^2$, and the roots are \\(x = \\frac{-b \\pm \\sqrt{b^2-4ac}}{2a}\\).

$$
\\int_0^1 x^2 \\, dx = \\frac{1}{3}
$$

\\[
\\sum_{n=1}^{\\infty} \\frac{1}{n^2} = \\frac{\\pi^2}{6}
\\]

\`\`\`python
def cost(tokens: int, price: float) -> float:
    # price is per million tokens
    return tokens / 1_000_000 * price
\`\`\`

See https://example.com/pricing for details.`

export const CORPUS_ZH = `## 模型对比

简要说明，含 **粗体**、_斜体_、~~旧价格~~ 和 \`行内代码\`。

| 模型 | 上下文 | 每百万 token 价格 |
|:-----|:------:|------------------:|
| slow-bot | 8k | ¥3.5 |
| thinker | 128k | ¥21 |

> 价格经常变动：报价前请先查看管理后台。

选择步骤：
1. 估算提示词长度
   - 短对话：\`slow-bot\`
   - 长文档：\`thinker\`
2. 用同一个问题试试两个模型

- 紧凑
- 列表

质能方程是 $E = mc^2$，求根公式为 \\(x = \\frac{-b \\pm \\sqrt{b^2-4ac}}{2a}\\)。

$$
\\int_0^1 x^2 \\, dx = \\frac{1}{3}
$$

\\[
\\sum_{n=1}^{\\infty} \\frac{1}{n^2} = \\frac{\\pi^2}{6}
\\]

\`\`\`python
def cost(tokens: int, price: float) -> float:
    # 价格按每百万 token 计
    return tokens / 1_000_000 * price
\`\`\`

详情见 https://example.com/pricing 。`

/** `text` cut into `count` pieces of about the same length. */
export function chunks(text: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) =>
    text.slice(Math.floor((index * text.length) / count), Math.floor(((index + 1) * text.length) / count)),
  )
}
