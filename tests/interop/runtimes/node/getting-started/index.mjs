// From the seeds: the AWS Lambda Developer Guide (seed document 003_50d764b17c0b3329.txt), "Create a
// Lambda function with the console", step 2: the index.mjs pasted over the generated code, as the
// guide writes it (the seed is OCR text; only the OCR damage is repaired).
export const handler = async (event, context) => {
  
  const length = event.length;
  const width = event.width;
  let area = calculateArea(length, width);
  console.log(`The area is ${area}`);
        
  console.log('CloudWatch log group: ', context.logGroupName);
  
  let data = {
    "area": area,
  };
    return JSON.stringify(data);
    
  function calculateArea(length, width) {
    return length * width;
  }
};
