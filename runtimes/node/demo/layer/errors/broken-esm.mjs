export const handler = async (event) => {
  const x = ;
};
