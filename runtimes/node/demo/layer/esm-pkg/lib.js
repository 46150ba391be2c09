export default function makeGreeting(name) {
  return `Hello, ${name}`;
}
export const punctuation = '!';
export let VERSION = '1.0';
