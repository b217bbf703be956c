const fs = require('fs');

const API_KEY = 'zk_live_abc123...';
const BASE_URL = 'https://api.zekron.codes';

async function generateImage(prompt) {
  const response = await fetch(`${BASE_URL}/v1/generate`, {
    method: 'POST',
    headers: {
      'Authorization': `Bearer ${API_KEY}`,
      'Content-Type': 'application/json'
    },
    body: JSON.stringify({
      prompt: prompt,
      size: '1024x1024'
    })
  });

  const data = await response.json();

  if (data.success) {
    // Save image
    const imageBuffer = Buffer.from(data.data.image.b64_json, 'base64');
    fs.writeFileSync('output.png', imageBuffer);
    console.log(`Image saved! Cost: $${data.data.cost}`);
  } else {
    console.error('Error:', data.error.message);
  }
}

generateImage('A sunset over the ocean');
