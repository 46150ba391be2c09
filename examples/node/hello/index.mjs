// hello: returns a greeting built from the event's `name` (the Node.js twin of examples/hello).

export const handler = async (event, context) => {
  const name = event.name || "world";
  console.log(`greeting ${name} in ${context.functionName}`);
  return { message: `Hello, ${name}!` };
};
